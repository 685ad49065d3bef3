import { describe, expect, it } from "vitest";

import {
  affineFromBasis,
  apply,
  countOf,
  createLabelMap,
  decodeRunsInto,
  encodeRuns,
  invert,
  normalizeBox,
  pointInPolygon,
  polygonArea,
  simplify,
  stampDisk,
  stampStroke,
} from "./geometry";
import type { Point } from "../api/types";

describe("the image-to-canvas affine", () => {
  it("maps a 128-pixel image shown at 512 pixels with a 4x scale", () => {
    const m = affineFromBasis([0, 0], [4, 0], [0, 4]);
    expect(apply(m, [32, 32])).toEqual([128, 128]);
    expect(apply(invert(m), [384, 320])).toEqual([96, 80]);
  });

  it("round-trips through its inverse under zoom, pan and rotation", () => {
    const m = affineFromBasis([100, 50], [100, 53], [97, 50]); // 90° rotation, 3x, panned
    const p: Point = [12.25, 40.5];
    const back = apply(invert(m), apply(m, p));
    expect(back[0]).toBeCloseTo(p[0], 9);
    expect(back[1]).toBeCloseTo(p[1], 9);
  });

  it("refuses a degenerate transform", () => {
    expect(() => invert(affineFromBasis([0, 0], [0, 0], [0, 1]))).toThrow(/degenerate/);
  });
});

describe("shapes", () => {
  it("stores a box as top-left and bottom-right whatever the drag direction", () => {
    expect(normalizeBox([90, 10], [20, 70])).toEqual([
      [20, 10],
      [90, 70],
    ]);
  });

  it("computes polygon area and containment", () => {
    const square: Point[] = [
      [0, 0],
      [10, 0],
      [10, 10],
      [0, 10],
    ];
    expect(polygonArea(square)).toBe(100);
    expect(pointInPolygon([5, 5], square)).toBe(true);
    expect(pointInPolygon([15, 5], square)).toBe(false);
  });

  it("simplifies a freehand trace to its corners", () => {
    const trace: Point[] = [];
    for (let x = 0; x <= 10; x += 0.5) trace.push([x, 0]);
    for (let y = 0.5; y <= 10; y += 0.5) trace.push([10, y]);
    expect(simplify(trace, 0.3)).toEqual([
      [0, 0],
      [10, 0],
      [10, 10],
    ]);
  });
});

describe("label masks", () => {
  it("encodes row-major runs starting with zeros, as the API defines", () => {
    const map = createLabelMap(2, 3);
    map.data.set([0, 1, 1, 1, 0, 0]);
    expect(encodeRuns(map, 1)).toEqual([1, 3, 2]);
  });

  it("starts with an empty zero run when the first pixel is foreground", () => {
    const map = createLabelMap(1, 3);
    map.data.set([1, 1, 0]);
    expect(encodeRuns(map, 1)).toEqual([0, 2, 1]);
  });

  it("decodes back to the same pixels", () => {
    const map = createLabelMap(4, 5);
    stampDisk(map, [2.5, 2], 1.5, 2);
    const counts = encodeRuns(map, 2);
    const copy = createLabelMap(4, 5);
    decodeRunsInto(copy, [4, 5], counts, 2);
    expect(Array.from(copy.data)).toEqual(Array.from(map.data));
  });

  it("rejects a mask of another size", () => {
    expect(() => decodeRunsInto(createLabelMap(2, 2), [3, 3], [9], 1)).toThrow(/3x3/);
  });

  it("paints the pixels whose centres lie inside the brush", () => {
    const map = createLabelMap(10, 10);
    expect(stampDisk(map, [5, 5], 1, 1)).toBe(4); // the four pixels around the corner (5, 5)
    expect(countOf(map, 1)).toBe(4);
  });

  it("leaves other labels alone when the stroke may only paint background", () => {
    const map = createLabelMap(10, 10);
    stampDisk(map, [5, 5], 2, 2);
    const before = countOf(map, 2);
    stampStroke(map, [0, 5], [10, 5], 2, 1, (v) => v === 0);
    expect(countOf(map, 2)).toBe(before);
    expect(countOf(map, 1)).toBeGreaterThan(0);
  });

  it("erases only its own label", () => {
    const map = createLabelMap(10, 10);
    stampStroke(map, [0, 2], [10, 2], 1, 1);
    stampStroke(map, [0, 7], [10, 7], 1, 2);
    stampStroke(map, [5, 0], [5, 10], 3, 0, (v) => v === 1);
    expect(countOf(map, 2)).toBe(20);
    expect(countOf(map, 1)).toBeLessThan(20);
  });
});
