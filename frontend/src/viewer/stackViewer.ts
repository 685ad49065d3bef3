/**
 * One Cornerstone3D stack viewport and the navigation a reader expects: wheel/keys to scroll,
 * right-drag window/level, middle-drag pan, Ctrl+wheel zoom, presets, invert, fit, reset, cine.
 *
 * It knows nothing about annotations; the drawing layer asks it for the image→canvas affine.
 */
import {
  cache,
  Enums,
  eventTarget,
  RenderingEngine,
  type StackViewport,
  type Types,
} from "@cornerstonejs/core";
import {
  Enums as ToolEnums,
  PanTool,
  StackScrollTool,
  ToolGroupManager,
  utilities as toolUtilities,
  WindowLevelTool,
  ZoomTool,
} from "@cornerstonejs/tools";

import { affineFromBasis, type Affine } from "./geometry";
import type { Point } from "../api/types";
import { autoWindow, voiRange, type VoiPreset } from "./presets";

const { MouseBindings, KeyboardBindings } = ToolEnums;

export type NavigationTool = "WindowLevel" | "Pan" | "Zoom";

export interface ViewState {
  imageId: string;
  index: number;
  count: number;
  voi: { center: number; width: number } | null;
  invert: boolean;
  zoom: number;
}

type Listener = (event: "rendered" | "view" | "error", detail?: unknown) => void;

let counter = 0;

export class StackViewer {
  readonly viewportId: string;
  private readonly engine: RenderingEngine;
  private readonly toolGroupId: string;
  private listeners = new Set<Listener>();
  private resizeObserver: ResizeObserver;
  private primary: NavigationTool | null = null;
  private cineOn = false;
  private stackToken = 0;
  private cleanup: Array<() => void> = [];

  constructor(readonly element: HTMLDivElement) {
    counter += 1;
    this.viewportId = `stack-${counter}`;
    this.toolGroupId = `tools-${counter}`;
    this.engine = new RenderingEngine(`engine-${counter}`);
    this.engine.enableElement({
      viewportId: this.viewportId,
      type: Enums.ViewportType.STACK,
      element,
      defaultOptions: { background: [0, 0, 0] as Types.Point3 },
    });
    const group = ToolGroupManager.createToolGroup(this.toolGroupId);
    if (!group) throw new Error("could not create the tool group");
    for (const tool of [WindowLevelTool, PanTool, ZoomTool, StackScrollTool])
      group.addTool(tool.toolName);
    group.addViewport(this.viewportId, this.engine.id);
    group.setToolActive(WindowLevelTool.toolName, {
      bindings: [{ mouseButton: MouseBindings.Secondary }],
    });
    group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
    group.setToolActive(ZoomTool.toolName, {
      bindings: [{ mouseButton: MouseBindings.Wheel, modifierKey: KeyboardBindings.Ctrl }],
    });
    group.setToolActive(StackScrollTool.toolName, {
      bindings: [{ mouseButton: MouseBindings.Wheel }],
    });

    const onRendered = () => this.emit("rendered", this.viewport.getCurrentImageId());
    const onView = () => this.emit("view");
    element.addEventListener(Enums.Events.IMAGE_RENDERED, onRendered);
    element.addEventListener(Enums.Events.CAMERA_MODIFIED, onView);
    element.addEventListener(Enums.Events.VOI_MODIFIED, onView);
    element.addEventListener(Enums.Events.STACK_NEW_IMAGE, onView);
    const onLoadError = (evt: Event) => this.emit("error", (evt as CustomEvent).detail);
    eventTarget.addEventListener(Enums.Events.IMAGE_LOAD_ERROR, onLoadError);
    const noMenu = (evt: Event) => evt.preventDefault();
    element.addEventListener("contextmenu", noMenu);
    this.cleanup.push(() => {
      element.removeEventListener(Enums.Events.IMAGE_RENDERED, onRendered);
      element.removeEventListener(Enums.Events.CAMERA_MODIFIED, onView);
      element.removeEventListener(Enums.Events.VOI_MODIFIED, onView);
      element.removeEventListener(Enums.Events.STACK_NEW_IMAGE, onView);
      eventTarget.removeEventListener(Enums.Events.IMAGE_LOAD_ERROR, onLoadError);
      element.removeEventListener("contextmenu", noMenu);
    });
    this.resizeObserver = new ResizeObserver(() => {
      this.engine.resize(true, true);
      this.emit("view");
    });
    this.resizeObserver.observe(element);
  }

  get viewport(): StackViewport {
    return this.engine.getViewport(this.viewportId) as StackViewport;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: "rendered" | "view" | "error", detail?: unknown): void {
    for (const l of this.listeners) l(event, detail);
  }

  /**
   * Show a stack; resolves once the first image is on screen, rejects when it cannot be
   * loaded or decoded (the loader reports some decode failures only as an event).
   */
  async show(imageIds: string[], index = 0): Promise<void> {
    this.stopCine();
    const token = ++this.stackToken;
    const start = Math.min(Math.max(0, index), imageIds.length - 1);
    let stopWatching = () => {};
    const failed = new Promise<never>((_, reject) => {
      stopWatching = this.subscribe((event, detail) => {
        const d = detail as { imageId?: string; error?: unknown } | undefined;
        if (event === "error" && (!d?.imageId || d.imageId === imageIds[start])) {
          reject(new Error(`image could not be displayed: ${describeLoadError(d?.error)}`));
        }
      });
    });
    try {
      await Promise.race([this.viewport.setStack(imageIds, start), failed]);
    } finally {
      stopWatching();
    }
    if (token !== this.stackToken) return;
    this.viewport.resetCamera();
    this.viewport.render();
  }

  get imageIds(): string[] {
    return this.viewport.getImageIds?.() ?? [];
  }

  get index(): number {
    return this.viewport.getCurrentImageIdIndex();
  }

  async scrollTo(index: number): Promise<void> {
    const n = this.imageIds.length;
    if (!n) return;
    await this.viewport.setImageIdIndex(Math.min(n - 1, Math.max(0, index)));
  }

  async scroll(delta: number): Promise<void> {
    await this.scrollTo(this.index + delta);
  }

  /** Which navigation tool the left button drives; null leaves it to the drawing layer. */
  setPrimary(tool: NavigationTool | null): void {
    const group = ToolGroupManager.getToolGroup(this.toolGroupId);
    if (!group || tool === this.primary) return;
    if (this.primary) group.setToolPassive(toolName(this.primary));
    if (tool)
      group.setToolActive(toolName(tool), { bindings: [{ mouseButton: MouseBindings.Primary }] });
    this.primary = tool;
  }

  get primaryTool(): NavigationTool | null {
    return this.primary;
  }

  state(): ViewState | null {
    const vp = this.viewport;
    const imageId = vp.getCurrentImageId();
    if (!imageId) return null;
    const props = vp.getProperties();
    const range = props.voiRange;
    return {
      imageId,
      index: vp.getCurrentImageIdIndex(),
      count: vp.getImageIds().length,
      voi: range
        ? { center: (range.lower + range.upper) / 2, width: range.upper - range.lower }
        : null,
      invert: Boolean(props.invert),
      zoom: vp.getZoom?.() ?? 1,
    };
  }

  setVOI(center: number, width: number): void {
    this.viewport.setProperties({ voiRange: voiRange(center, Math.max(1, width)) });
    this.viewport.render();
  }

  applyPreset(preset: VoiPreset): void {
    if (preset.center !== null && preset.width !== null) {
      this.setVOI(preset.center, preset.width);
      return;
    }
    const image = cache.getImage(this.viewport.getCurrentImageId());
    if (!image) return;
    const { center, width } = autoWindow(image.getPixelData() as ArrayLike<number>);
    this.setVOI(center, width);
  }

  toggleInvert(): void {
    this.viewport.setProperties({ invert: !this.viewport.getProperties().invert });
    this.viewport.render();
  }

  zoomBy(factor: number): void {
    const camera = this.viewport.getCamera();
    if (camera.parallelScale) {
      this.viewport.setCamera({ parallelScale: camera.parallelScale / factor });
      this.viewport.render();
    }
  }

  /** Fit the whole image in the viewport, keeping window/level and inversion. */
  fit(): void {
    this.viewport.resetCamera();
    this.viewport.render();
  }

  /** Back to how the image first appeared: camera, window/level from the file, not inverted. */
  reset(): void {
    this.viewport.resetCamera();
    this.viewport.resetProperties();
    this.viewport.render();
  }

  get cinePlaying(): boolean {
    return this.cineOn;
  }

  toggleCine(framesPerSecond = 15): void {
    if (this.cineOn) this.stopCine();
    else if (this.imageIds.length > 1) {
      toolUtilities.cine.playClip(this.element, { framesPerSecond, loop: true });
      this.cineOn = true;
    }
  }

  stopCine(): void {
    if (this.cineOn) toolUtilities.cine.stopClip(this.element);
    this.cineOn = false;
  }

  /**
   * The affine from image coordinates (x = column, y = row, corner origin) to canvas CSS pixels,
   * measured from the viewport itself so GPU and CPU paths, zoom and pan all agree.
   * Index space puts pixel centres on integers, hence the half-pixel shift.
   */
  imageToCanvas(): Affine | null {
    const data = this.viewport.getImageData?.();
    const indexToWorld = data?.imageData?.indexToWorld?.bind(data.imageData);
    if (!indexToWorld) return null;
    const toCanvas = (x: number, y: number): Point => {
      const world = indexToWorld([x - 0.5, y - 0.5, 0] as Types.Point3) as Types.Point3;
      const c = this.viewport.worldToCanvas(world);
      return [c[0], c[1]];
    };
    return affineFromBasis(toCanvas(0, 0), toCanvas(1, 0), toCanvas(0, 1));
  }

  /** Stored pixel value(s) of the current image under image point (x, y), modality LUT applied. */
  pixelAt(x: number, y: number): number[] | null {
    const image = cache.getImage(this.viewport.getCurrentImageId());
    if (!image) return null;
    const col = Math.floor(x);
    const row = Math.floor(y);
    if (col < 0 || row < 0 || col >= image.columns || row >= image.rows) return null;
    const data = image.getPixelData() as ArrayLike<number>;
    const samples = data.length / (image.rows * image.columns);
    const start = (row * image.columns + col) * samples;
    return Array.from({ length: samples }, (_, k) => data[start + k]);
  }

  /** Sum of the current image's pixel values (tests compare it with pydicom). */
  pixelSum(): number | null {
    const image = cache.getImage(this.viewport.getCurrentImageId());
    if (!image) return null;
    const data = image.getPixelData() as ArrayLike<number>;
    let total = 0;
    for (let i = 0; i < data.length; i++) total += data[i];
    return total;
  }

  destroy(): void {
    this.stopCine();
    this.resizeObserver.disconnect();
    for (const fn of this.cleanup) fn();
    ToolGroupManager.destroyToolGroup?.(this.toolGroupId);
    this.engine.destroy();
    this.listeners.clear();
  }
}

function describeLoadError(error: unknown): string {
  if (!error) return "unknown error";
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && "message" in error)
    return String((error as { message: unknown }).message);
  return String(error);
}

function toolName(tool: NavigationTool): string {
  return { WindowLevel: WindowLevelTool.toolName, Pan: PanTool.toolName, Zoom: ZoomTool.toolName }[
    tool
  ];
}
