/**
 * DICOMweb URLs and fetches the viewer needs (PS3.18 §10.4 WADO-RS, §10.6 QIDO-RS).
 *
 * The dicom-image-loader never fetches metadata by itself for `wadors:` image ids: we GET
 * `.../instances/{sop}/metadata` (application/dicom+json) and register it before the stack is set
 * (viewer.md §5). Frames are then requested by the loader from `.../frames/{n}`.
 */
import type { InstanceRef } from "../api/types";
import type { DicomJson } from "./dicomJson";

export const DICOMWEB_ROOT = "/dicomweb";

export function instancePath(
  ref: Pick<InstanceRef, "study_instance_uid" | "series_instance_uid" | "sop_instance_uid">,
): string {
  return (
    `${DICOMWEB_ROOT}/studies/${ref.study_instance_uid}` +
    `/series/${ref.series_instance_uid}/instances/${ref.sop_instance_uid}`
  );
}

/** `wadors:` image id of one 1-based frame; the loader strips the scheme and GETs the rest. */
export function frameImageId(
  origin: string,
  ref: Parameters<typeof instancePath>[0],
  frame: number,
): string {
  return `wadors:${origin}${instancePath(ref)}/frames/${frame}`;
}

export function seriesThumbnailUrl(study: string, series: string): string {
  return `${DICOMWEB_ROOT}/studies/${study}/series/${series}/thumbnail`;
}

async function getDicomJson(url: string, signal?: AbortSignal): Promise<DicomJson[]> {
  const response = await fetch(url, {
    headers: { Accept: "application/dicom+json" },
    credentials: "same-origin",
    signal,
  });
  if (!response.ok) throw new Error(`GET ${url} → ${response.status}`);
  return (await response.json()) as DicomJson[];
}

export async function fetchInstanceMetadata(
  ref: Parameters<typeof instancePath>[0],
  signal?: AbortSignal,
): Promise<DicomJson> {
  const list = await getDicomJson(`${instancePath(ref)}/metadata`, signal);
  if (!list.length) throw new Error(`no metadata for instance ${ref.sop_instance_uid}`);
  return list[0];
}

/** Every instance's metadata of one series, one request (WADO-RS series metadata). */
export function fetchSeriesMetadata(
  study: string,
  series: string,
  signal?: AbortSignal,
): Promise<DicomJson[]> {
  return getDicomJson(`${DICOMWEB_ROOT}/studies/${study}/series/${series}/metadata`, signal);
}

/** QIDO-RS series of a study. */
export function searchSeries(study: string, signal?: AbortSignal): Promise<DicomJson[]> {
  return getDicomJson(`${DICOMWEB_ROOT}/studies/${study}/series`, signal);
}
