import { describe, expect, it } from "vitest";

import type { MaskPayload, MaskSuggestion } from "../api/types";
import type { Shape } from "./annotationDocument";
import { createLabelMap, encodeRuns } from "./geometry";
import { acceptedShapes, decodeMask, editCounts, provenanceOf, unionMasks } from "./maskSuggestion";

const ROWS = 8;
const COLS = 10;

/** A mask of `label` whose foreground is the rectangle rows r0..r1-1, columns c0..c1-1. */
function rect(label: string, r0: number, r1: number, c0: number, c1: number): MaskPayload {
  const map = createLabelMap(ROWS, COLS);
  for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) map.data[r * COLS + c] = 1;
  return { label, size: [ROWS, COLS], counts: encodeRuns(map, 1) };
}

const count = (m: MaskPayload) => decodeMask(m).reduce((n, v) => n + v, 0);

const suggestion = (masks: MaskPayload[]): MaskSuggestion => ({
  kind: "mask",
  model_version: 41,
  version_number: 3,
  frame: 1,
  masks,
});

let seq = 0;
const uid = () => `uid-${++seq}`;

describe("a suggested mask", () => {
  it("decodes the API's run lengths row by row", () => {
    const m = rect("lesion", 1, 3, 2, 5);
    const bits = decodeMask(m);
    expect(count(m)).toBe(6);
    expect(bits[1 * COLS + 2]).toBe(1);
    expect(bits[1 * COLS + 5]).toBe(0);
    expect(bits[3 * COLS + 2]).toBe(0);
  });

  it("becomes one mask annotation per known class, remembering the model version", () => {
    const s = suggestion([
      rect("lesion", 1, 3, 2, 5),
      rect("cyst", 5, 6, 0, 2),
      rect("x", 0, 1, 0, 1),
    ]);
    const out = acceptedShapes(s, ["lesion", "cyst"], () => undefined, uid);
    expect(out.map((o) => [o.shape.kind, (o.shape.payload as MaskPayload).label])).toEqual([
      ["mask", "lesion"],
      ["mask", "cyst"],
    ]);
    expect(out[0].shape.payload).toEqual(rect("lesion", 1, 3, 2, 5));
    expect(out[0].origin).toEqual({
      suggestedBy: 41,
      accepted: true,
      suggested: rect("lesion", 1, 3, 2, 5),
    });
  });

  it("joins what the doctor already painted of that class, keeping its annotation", () => {
    const mine: Shape = {
      uid: "mine",
      kind: "mask",
      frame: 1,
      payload: rect("lesion", 0, 1, 0, 3),
    };
    const s = suggestion([rect("lesion", 1, 3, 2, 5)]);
    const [only] = acceptedShapes(
      s,
      ["lesion"],
      (label) => (label === "lesion" ? mine : undefined),
      uid,
    );
    expect(only.shape.uid).toBe("mine");
    expect(count(only.shape.payload as MaskPayload)).toBe(9);
    expect(only.shape.payload).toEqual(
      unionMasks("lesion", rect("lesion", 0, 1, 0, 3), rect("lesion", 1, 3, 2, 5)),
    );
  });

  it("counts the doctor's corrections as pixels added and removed", () => {
    const suggested = rect("lesion", 1, 5, 1, 5); // 16 px
    const edited = rect("lesion", 1, 5, 1, 3); // erased 8
    expect(editCounts(suggested, edited)).toEqual({ added: 0, removed: 8 });
    expect(editCounts(suggested, rect("lesion", 0, 5, 1, 5))).toEqual({ added: 4, removed: 0 });
    expect(editCounts(null, edited)).toEqual({ added: 8, removed: 0 });
    expect(provenanceOf({ suggestedBy: 41, accepted: true, suggested }, edited)).toEqual({
      suggested_by: 41,
      accepted: true,
      pixels_added: 0,
      pixels_removed: 8,
    });
  });
});
