/**
 * `window.__viewerTest`: a read-mostly window into the viewer for end-to-end tests and the
 * benchmark (viewer.md §8). It exposes nothing the page does not already show the user.
 */
import type { Point } from "../api/types";
import type { Shape } from "./annotationDocument";
import { renderingBackend } from "./cornerstone";
import { apply } from "./geometry";
import type { StackViewer } from "./stackViewer";

export interface Timing {
  itemId: number;
  /** performance.now() when Enter (or S + reason) was pressed. */
  enterAt: number;
  /** performance.now() when the next item's image was first drawn. */
  drawnAt: number;
  prefetched: boolean;
}

export interface TestSource {
  viewer: StackViewer;
  status: () => Record<string, unknown>;
  annotations?: () => Shape[];
  setTool?: (name: string) => void;
}

const timings: Timing[] = [];
let firstImageAt: number | null = null;
let renderCount = 0;
let current: TestSource | null = null;

export function recordTiming(t: Timing): void {
  timings.push(t);
}

export function noteRendered(): void {
  renderCount += 1;
  firstImageAt ??= performance.now();
}

export function installTestHook(source: TestSource): () => void {
  current = source;
  return () => {
    if (current === source) current = null;
  };
}

function need(): TestSource {
  if (!current) throw new Error("no viewer on this page");
  return current;
}

const api = {
  status: () => ({
    ...(current?.status() ?? { state: "idle" }),
    imageId: current?.viewer.state()?.imageId ?? null,
    renderCount,
    backend: renderingBackend(),
  }),
  annotations: (): Shape[] => JSON.parse(JSON.stringify(current?.annotations?.() ?? [])) as Shape[],
  pixelAt: (x: number, y: number) => need().viewer.pixelAt(x, y),
  pixelSum: () => need().viewer.pixelSum(),
  setVOI: (center: number, width: number) => need().viewer.setVOI(center, width),
  voi: () => need().viewer.state()?.voi ?? null,
  setTool: (name: string) => need().setTool?.(name),
  /** Page (client) coordinates of image point (x, y): where a test should move the mouse. */
  imageToPage: (x: number, y: number): Point | null => {
    const viewer = need().viewer;
    const m = viewer.imageToCanvas();
    if (!m) return null;
    const rect = viewer.element.getBoundingClientRect();
    const [cx, cy] = apply(m, [x, y]);
    return [rect.left + cx, rect.top + cy];
  },
  timings: () => timings.slice(),
  firstImageAt: () => firstImageAt,
};

declare global {
  interface Window {
    __viewerTest: typeof api;
  }
}

window.__viewerTest = api;
