import { describe, expect, it } from "vitest";

import type { BoxSuggestion, ShapePayload } from "../api/types";
import { acceptedBoxes, boxProvenanceOf, isBoxSuggestion, scoreText } from "./boxSuggestion";
import { isClassSuggestion, isMaskSuggestion } from "./maskSuggestion";

const suggestion: BoxSuggestion = {
  kind: "boxes",
  model_version: 52,
  version_number: 2,
  frame: 1,
  boxes: [
    {
      label: "mass",
      points: [
        [10, 10],
        [30, 30],
      ],
      score: 0.93,
      index: 0,
    },
    {
      label: "tumour",
      points: [
        [1, 1],
        [4, 4],
      ],
      score: 0.9,
      index: 1,
    },
    {
      label: "calcification",
      points: [
        [40, 5],
        [60, 20],
      ],
      score: 0.61,
      index: 3,
    },
  ],
};

let seq = 0;
const uid = () => `uid-${++seq}`;

describe("suggested boxes", () => {
  it("become the doctor's boxes at the model's corners, classes the project lacks left out", () => {
    const out = acceptedBoxes(suggestion, suggestion.boxes, ["mass", "calcification"], uid);
    expect(out.map((o) => o.shape.payload)).toEqual([
      {
        label: "mass",
        points: [
          [10, 10],
          [30, 30],
        ],
      },
      {
        label: "calcification",
        points: [
          [40, 5],
          [60, 20],
        ],
      },
    ]);
    expect(out.map((o) => o.shape.kind)).toEqual(["box", "box"]);
    expect(out[1].origin).toMatchObject({ suggestedBy: 52, accepted: true, box: { index: 3 } });
  });

  it("say in their provenance which box, its score, and whether the doctor moved it", () => {
    const [first] = acceptedBoxes(suggestion, suggestion.boxes, ["mass"], uid);
    const kept = boxProvenanceOf(first.origin, first.shape.payload as ShapePayload);
    expect(kept).toEqual({
      suggested_by: 52,
      accepted: true,
      box_index: 0,
      score: 0.93,
      moved: false,
    });
    const resized = boxProvenanceOf(first.origin, {
      label: "mass",
      points: [
        [10, 10],
        [31, 30],
      ],
    });
    expect(resized.moved).toBe(true);
  });

  it("are told apart from masks and class answers", () => {
    expect(isBoxSuggestion(suggestion)).toBe(true);
    expect(isMaskSuggestion(suggestion)).toBe(false);
    expect(isClassSuggestion(suggestion)).toBe(false);
    expect(isClassSuggestion(null)).toBe(false);
    expect(scoreText(0.925)).toBe("0.93");
  });
});
