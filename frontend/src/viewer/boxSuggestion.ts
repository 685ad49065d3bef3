/**
 * A detection model's suggested boxes, turned into the doctor's own box annotations, and the
 * provenance each saved box carries (which suggested box, its score, whether the doctor moved
 * it). Pure functions, tested without a browser; the server recomputes score and "moved" from
 * its stored copy (annotations/services/box_provenance.py).
 */
import type { BoxProvenance, BoxSuggestion, Point, ShapePayload, SuggestedBox } from "../api/types";
import type { Shape } from "./annotationDocument";
import type { SuggestionOrigin } from "./maskSuggestion";

export function isBoxSuggestion(s: { kind?: string } | null | undefined): s is BoxSuggestion {
  return s?.kind === "boxes";
}

/** The shapes accepting `boxes` puts in the document: one box annotation per suggested box of
 * a class the project knows, at the model's corners. */
export function acceptedBoxes(
  suggestion: BoxSuggestion,
  boxes: readonly SuggestedBox[],
  labels: readonly string[],
  newUid: () => string,
): Array<{ shape: Shape; origin: SuggestionOrigin }> {
  return boxes
    .filter((b) => labels.includes(b.label))
    .map((b) => ({
      shape: {
        uid: newUid(),
        kind: "box" as const,
        frame: suggestion.frame,
        payload: { label: b.label, points: [b.points[0], b.points[1]] },
      },
      origin: {
        suggestedBy: suggestion.model_version,
        accepted: true,
        suggested: null,
        box: { index: b.index, score: b.score, points: b.points },
      },
    }));
}

function samePoints(a: readonly Point[], b: readonly Point[]): boolean {
  return a.length === b.length && a.every((p, i) => p[0] === b[i][0] && p[1] === b[i][1]);
}

/** What a saved box says about its origin. `moved` is false only at the model's exact corners
 * (unknown corners after a reload count as moved; the server decides from its copy anyway). */
export function boxProvenanceOf(origin: SuggestionOrigin, saved: ShapePayload): BoxProvenance {
  const box = origin.box!;
  return {
    suggested_by: origin.suggestedBy,
    accepted: origin.accepted,
    box_index: box.index,
    score: box.score,
    moved: box.points === null || !samePoints(box.points, saved.points),
  };
}

/** "0.93" under the box's label: the model's confidence, two decimals. */
export function scoreText(score: number): string {
  return score.toFixed(2);
}
