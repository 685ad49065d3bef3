/**
 * Pure image-space geometry: the affine map between image pixels and canvas pixels, hit tests,
 * freehand simplification, brush stamping and the API's run-length mask format.
 *
 * Image coordinates follow the API: x = column, y = row, origin at the top-left corner of the
 * top-left pixel, so pixel (c, r) covers [c, c+1) × [r, r+1) and its centre is (c+0.5, r+0.5).
 */
import type { Point } from "../api/types";

/** canvas = [a*x + c*y + e, b*x + d*y + f] (the 2-D affine that a stack viewport applies). */
export interface Affine {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
}

/** The affine that sends image points (0,0), (1,0), (0,1) to the three given canvas points. */
export function affineFromBasis(origin: Point, xUnit: Point, yUnit: Point): Affine {
  return {
    a: xUnit[0] - origin[0],
    b: xUnit[1] - origin[1],
    c: yUnit[0] - origin[0],
    d: yUnit[1] - origin[1],
    e: origin[0],
    f: origin[1],
  };
}

export function apply(m: Affine, p: Point): Point {
  return [m.a * p[0] + m.c * p[1] + m.e, m.b * p[0] + m.d * p[1] + m.f];
}

export function invert(m: Affine): Affine {
  const det = m.a * m.d - m.b * m.c;
  if (Math.abs(det) < 1e-12) throw new Error("degenerate view transform");
  return {
    a: m.d / det,
    b: -m.b / det,
    c: -m.c / det,
    d: m.a / det,
    e: (m.c * m.f - m.d * m.e) / det,
    f: (m.b * m.e - m.a * m.f) / det,
  };
}

/** Scale of one image pixel on the canvas (for sizing handles and the brush cursor). */
export function pixelScale(m: Affine): number {
  return Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
}

export function clampPoint(p: Point, columns: number, rows: number): Point {
  return [Math.min(columns, Math.max(0, p[0])), Math.min(rows, Math.max(0, p[1]))];
}

/** Round to 1/100 pixel: plenty for labels, and it keeps the JSON short and stable. */
export function tidy(p: Point): Point {
  return [Math.round(p[0] * 100) / 100, Math.round(p[1] * 100) / 100];
}

/** Two opposite corners → [top-left, bottom-right] as the server stores boxes. */
export function normalizeBox(p0: Point, p1: Point): [Point, Point] {
  return [
    [Math.min(p0[0], p1[0]), Math.min(p0[1], p1[1])],
    [Math.max(p0[0], p1[0]), Math.max(p0[1], p1[1])],
  ];
}

export function boxCorners(points: Point[]): Point[] {
  const [[x0, y0], [x1, y1]] = normalizeBox(points[0], points[1]);
  return [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
  ];
}

export function polygonArea(points: Point[]): number {
  let total = 0;
  for (let i = 0; i < points.length; i++) {
    const [x0, y0] = points[i];
    const [x1, y1] = points[(i + 1) % points.length];
    total += x0 * y1 - x1 * y0;
  }
  return Math.abs(total) / 2;
}

export function pointInPolygon(p: Point, polygon: Point[]): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i];
    const [xj, yj] = polygon[j];
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) {
      inside = !inside;
    }
  }
  return inside;
}

export function distance(p: Point, q: Point): number {
  return Math.hypot(p[0] - q[0], p[1] - q[1]);
}

export function distanceToSegment(p: Point, a: Point, b: Point): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t =
    len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2));
  return distance(p, [a[0] + t * dx, a[1] + t * dy]);
}

/** Ramer–Douglas–Peucker: a freehand trace keeps its shape with far fewer vertices. */
export function simplify(points: Point[], epsilon: number): Point[] {
  if (points.length <= 3) return points.slice();
  let maxDist = 0;
  let index = 0;
  const last = points.length - 1;
  for (let i = 1; i < last; i++) {
    const d = distanceToSegment(points[i], points[0], points[last]);
    if (d > maxDist) {
      maxDist = d;
      index = i;
    }
  }
  if (maxDist <= epsilon) return [points[0], points[last]];
  const left = simplify(points.slice(0, index + 1), epsilon);
  const right = simplify(points.slice(index), epsilon);
  return [...left.slice(0, -1), ...right];
}

// Label masks ------------------------------------------------------------------------------

/** A label image: one byte per pixel, 0 = background, k = the k-th label class (1-based). */
export interface LabelMap {
  rows: number;
  columns: number;
  data: Uint8Array;
}

export function createLabelMap(rows: number, columns: number): LabelMap {
  return { rows, columns, data: new Uint8Array(rows * columns) };
}

/** Which current pixel values a stroke may overwrite; by default any. */
export type Paintable = (current: number) => boolean;

/**
 * Paint `value` into every pixel whose centre lies within `radius` pixels of `center`
 * (value 0 erases) where `paintable(current)` allows. Returns how many pixels changed.
 */
export function stampDisk(
  map: LabelMap,
  center: Point,
  radius: number,
  value: number,
  paintable?: Paintable,
): number {
  const r = Math.max(0.5, radius);
  const c0 = Math.max(0, Math.floor(center[0] - r));
  const c1 = Math.min(map.columns - 1, Math.ceil(center[0] + r));
  const r0 = Math.max(0, Math.floor(center[1] - r));
  const r1 = Math.min(map.rows - 1, Math.ceil(center[1] + r));
  let changed = 0;
  for (let row = r0; row <= r1; row++) {
    for (let col = c0; col <= c1; col++) {
      const dx = col + 0.5 - center[0];
      const dy = row + 0.5 - center[1];
      if (dx * dx + dy * dy > r * r) continue;
      const i = row * map.columns + col;
      if (map.data[i] === value) continue;
      if (paintable && !paintable(map.data[i])) continue;
      map.data[i] = value;
      changed++;
    }
  }
  return changed;
}

/** Stamp along a segment, spaced so consecutive disks overlap (a continuous stroke). */
export function stampStroke(
  map: LabelMap,
  from: Point,
  to: Point,
  radius: number,
  value: number,
  paintable?: Paintable,
): number {
  const steps = Math.max(1, Math.ceil(distance(from, to) / Math.max(0.5, radius / 2)));
  let changed = 0;
  for (let s = 0; s <= steps; s++) {
    const t = s / steps;
    changed += stampDisk(
      map,
      [from[0] + t * (to[0] - from[0]), from[1] + t * (to[1] - from[1])],
      radius,
      value,
      paintable,
    );
  }
  return changed;
}

/** Row-major run lengths of the pixels equal to `value`, starting with a run of zeros (API). */
export function encodeRuns(map: LabelMap, value: number): number[] {
  const counts: number[] = [];
  let current = false;
  let run = 0;
  for (let i = 0; i < map.data.length; i++) {
    const on = map.data[i] === value;
    if (on === current) {
      run++;
    } else {
      counts.push(run);
      current = on;
      run = 1;
    }
  }
  counts.push(run);
  return counts;
}

export function countOf(map: LabelMap, value: number): number {
  let n = 0;
  for (let i = 0; i < map.data.length; i++) if (map.data[i] === value) n++;
  return n;
}

/** Write the foreground of a run-length mask into `map` as `value`. */
export function decodeRunsInto(
  map: LabelMap,
  size: [number, number],
  counts: number[],
  value: number,
): void {
  if (size[0] !== map.rows || size[1] !== map.columns) {
    throw new Error(`mask is ${size[0]}x${size[1]}, image is ${map.rows}x${map.columns}`);
  }
  let i = 0;
  counts.forEach((run, k) => {
    if (k % 2 === 1) map.data.fill(value, i, i + run);
    i += run;
  });
  if (i !== map.data.length) throw new Error(`run lengths sum to ${i}, not ${map.data.length}`);
}

/** Remove `value` from the map (before re-decoding a mask of that label). */
export function clearValue(map: LabelMap, value: number): void {
  for (let i = 0; i < map.data.length; i++) if (map.data[i] === value) map.data[i] = 0;
}
