/**
 * Reading DICOM JSON (PS3.18 §F.2): attributes keyed by 8 upper-case hex digits, each holding
 * {vr, Value}. Pure helpers, shared by the overlay, presets and stack ordering.
 */

export type DicomJson = Record<string, { vr: string; Value?: unknown[]; BulkDataURI?: string }>;

export const Tag = {
  PatientName: "00100010",
  PatientID: "00100020",
  PatientBirthDate: "00100030",
  PatientSex: "00100040",
  PatientIdentityRemoved: "00120062",
  StudyDate: "00080020",
  StudyDescription: "00081030",
  Modality: "00080060",
  SeriesDescription: "0008103E",
  SeriesNumber: "00200011",
  InstanceNumber: "00200013",
  StudyInstanceUID: "0020000D",
  SeriesInstanceUID: "0020000E",
  SOPInstanceUID: "00080018",
  SliceThickness: "00180050",
  SliceLocation: "00201041",
  Rows: "00280010",
  Columns: "00280011",
  NumberOfFrames: "00280008",
  PixelSpacing: "00280030",
  WindowCenter: "00281050",
  WindowWidth: "00281051",
  BodyPartExamined: "00180015",
  PhotometricInterpretation: "00280004",
} as const;

export function first(json: DicomJson | undefined, tag: string): unknown {
  return json?.[tag]?.Value?.[0];
}

export function text(json: DicomJson | undefined, tag: string): string {
  const value = first(json, tag);
  if (value === undefined || value === null) return "";
  // Person Name is an object with Alphabetic/Ideographic/Phonetic groups (PS3.18 §F.2.2).
  if (typeof value === "object" && "Alphabetic" in (value as object)) {
    return String((value as { Alphabetic?: string }).Alphabetic ?? "")
      .replace(/\^/g, " ")
      .trim();
  }
  return String(value);
}

export function num(json: DicomJson | undefined, tag: string): number | undefined {
  const value = first(json, tag);
  const n = typeof value === "number" ? value : Number(value);
  return value === undefined || value === null || !Number.isFinite(n) ? undefined : n;
}

export function nums(json: DicomJson | undefined, tag: string): number[] {
  return (json?.[tag]?.Value ?? []).map(Number).filter(Number.isFinite);
}

/** Palette Color Lookup Table Data (PS3.3 C.7.6.3.1.6): OW, one 16-bit word per entry. */
const PALETTE_DATA = ["00281201", "00281202", "00281203"];

/**
 * Make the JSON what the dicom-image-loader reads: it takes palette tables from `Value` number
 * arrays only, while DICOM JSON servers send them as base64 InlineBinary (PS3.18 §F.2.7).
 */
export function normalizeForLoader(json: DicomJson): DicomJson {
  for (const tag of PALETTE_DATA) {
    const entry = json[tag] as { vr: string; Value?: unknown[]; InlineBinary?: string } | undefined;
    if (!entry?.InlineBinary || entry.Value) continue;
    const bytes = Uint8Array.from(atob(entry.InlineBinary), (c) => c.charCodeAt(0));
    const words = new Uint16Array(bytes.buffer, 0, Math.floor(bytes.length / 2));
    json[tag] = { vr: entry.vr, Value: Array.from(words) };
  }
  return json;
}
