/**
 * One-time Cornerstone3D start-up: rendering (GPU through WebGL, or CPU when asked or when
 * WebGL is missing), the DICOM image loader with its decode worker, and the navigation tools.
 */
import {
  getShouldUseCPURendering,
  init as coreInit,
  setUseCPURendering,
} from "@cornerstonejs/core";
import dicomImageLoader, { init as loaderInit } from "@cornerstonejs/dicom-image-loader";
import {
  addTool,
  init as toolsInit,
  PanTool,
  StackScrollTool,
  WindowLevelTool,
  ZoomTool,
} from "@cornerstonejs/tools";

import { normalizeForLoader, type DicomJson } from "./dicomJson";

let started: Promise<void> | null = null;

export interface StartOptions {
  /** Force the CPU (canvas 2D) path, e.g. for the smoke test or a machine whose WebGL is broken. */
  cpu?: boolean;
}

export function startCornerstone(options: StartOptions = {}): Promise<void> {
  started ??= (async () => {
    coreInit(
      options.cpu
        ? ({ rendering: { useCPURendering: true } } as Parameters<typeof coreInit>[0])
        : undefined,
    );
    if (options.cpu) setUseCPURendering(true);
    // Two cores on the reference machine: one decode worker keeps the UI thread responsive.
    loaderInit({
      maxWebWorkers: Math.max(1, Math.min(2, (navigator.hardwareConcurrency || 2) - 1)),
    });
    toolsInit();
    for (const tool of [WindowLevelTool, PanTool, ZoomTool, StackScrollTool]) addTool(tool);
  })();
  return started;
}

export function renderingBackend(): "cpu" | "gpu" {
  return getShouldUseCPURendering() ? "cpu" : "gpu";
}

/**
 * Register an instance's DICOM JSON for its `wadors:` frame image ids. For a multi-frame object
 * the loader derives each frame's metadata from frame 1's entry (metaDataManager).
 */
export function registerInstanceMetadata(imageIds: string[], json: DicomJson): void {
  normalizeForLoader(json);
  for (const imageId of imageIds) {
    dicomImageLoader.wadors.metaDataManager.add(imageId, json as never);
  }
}
