/**
 * A segmentation model's suggested masks, turned into the doctor's own mask annotations, and the
 * edit effort of what the doctor then saves: pixels added and removed relative to the suggestion.
 * Pure functions over run-length masks (the API's row-major RLE), tested without a browser.
 */
import type {
  ClassSuggestion,
  MaskPayload,
  MaskProvenance,
  MaskSuggestion,
  Point,
} from "../api/types";
import type { Shape } from "./annotationDocument";
import { createLabelMap, decodeRunsInto, encodeRuns } from "./geometry";

/** What the document remembers about a mask (or box) that started from a suggestion. */
export interface SuggestionOrigin {
  suggestedBy: number;
  accepted: boolean;
  /** The suggested mask of this label (null: unknown here, e.g. after a reload; the server
   * recomputes the counts from its stored copy anyway). */
  suggested: MaskPayload | null;
  /** A suggested box: its place in the stored suggestion, score and corners (viewer/boxSuggestion). */
  box?: { index: number; score: number; points: [Point, Point] | null };
}

/** Foreground bits of a run-length mask. */
export function decodeMask(mask: Pick<MaskPayload, "size" | "counts">): Uint8Array {
  const map = createLabelMap(mask.size[0], mask.size[1]);
  decodeRunsInto(map, mask.size, mask.counts, 1);
  return map.data;
}

/** Union of two masks of the same size, as a mask payload of `label`. */
export function unionMasks(label: string, a: MaskPayload, b: MaskPayload): MaskPayload {
  const map = createLabelMap(a.size[0], a.size[1]);
  decodeRunsInto(map, a.size, a.counts, 1);
  const other = decodeMask(b);
  for (let i = 0; i < other.length; i++) if (other[i]) map.data[i] = 1;
  return { label, size: [a.size[0], a.size[1]], counts: encodeRuns(map, 1) };
}

/** (pixels added, pixels removed) from the suggested mask to the saved one. */
export function editCounts(
  suggested: MaskPayload | null,
  saved: MaskPayload,
): { added: number; removed: number } {
  const after = decodeMask(saved);
  const before = suggested ? decodeMask(suggested) : new Uint8Array(after.length);
  if (before.length !== after.length) throw new Error("the suggestion and the mask differ in size");
  let added = 0;
  let removed = 0;
  for (let i = 0; i < after.length; i++) {
    if (after[i] && !before[i]) added++;
    else if (before[i] && !after[i]) removed++;
  }
  return { added, removed };
}

export function provenanceOf(origin: SuggestionOrigin, saved: MaskPayload): MaskProvenance {
  const { added, removed } = origin.suggested
    ? editCounts(origin.suggested, saved)
    : { added: 0, removed: 0 };
  return {
    suggested_by: origin.suggestedBy,
    accepted: origin.accepted,
    pixels_added: added,
    pixels_removed: removed,
  };
}

/**
 * The shapes that accepting `suggestion` puts in the document, one mask per suggested class that
 * the project knows: a class the doctor already painted on that frame keeps its UID and gains
 * the suggested pixels (union), so nothing the doctor drew is lost.
 */
export function acceptedShapes(
  suggestion: MaskSuggestion,
  labels: readonly string[],
  existing: (label: string, frame: number) => Shape | undefined,
  newUid: () => string,
): Array<{ shape: Shape; origin: SuggestionOrigin }> {
  const out: Array<{ shape: Shape; origin: SuggestionOrigin }> = [];
  for (const mask of suggestion.masks) {
    if (!labels.includes(mask.label) || mask.counts.length < 2) continue;
    const suggested: MaskPayload = { label: mask.label, size: mask.size, counts: mask.counts };
    const mine = existing(mask.label, suggestion.frame);
    const payload = mine
      ? unionMasks(mask.label, mine.payload as MaskPayload, suggested)
      : suggested;
    out.push({
      shape: { uid: mine?.uid ?? newUid(), kind: "mask", frame: suggestion.frame, payload },
      origin: { suggestedBy: suggestion.model_version, accepted: true, suggested },
    });
  }
  return out;
}

/** A classification model's answer (neither masks nor boxes). */
export function isClassSuggestion(s: { kind?: string } | null | undefined): s is ClassSuggestion {
  return Boolean(s) && s?.kind === undefined;
}

export function isMaskSuggestion(s: { kind?: string } | null | undefined): s is MaskSuggestion {
  return s?.kind === "mask";
}
