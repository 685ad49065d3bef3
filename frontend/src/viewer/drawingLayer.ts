/**
 * The annotation layer drawn over the Cornerstone viewport: boxes, polygons (clicked or
 * freehand), points and brush/eraser masks, with select, move, handle editing and delete.
 *
 * Shapes live in image coordinates in the AnnotationDocument; this layer only maps them to the
 * canvas through the viewport's affine, so what the server stores is exactly what was drawn,
 * whatever the zoom, pan or rendering path (ADR 0401).
 */
import type { MaskPayload, Point, ShapePayload, SuggestedBox } from "../api/types";
import { newUid, type AnnotationDocument, type Shape } from "./annotationDocument";
import { scoreText } from "./boxSuggestion";
import {
  apply,
  boxCorners,
  clampPoint,
  clearValue,
  createLabelMap,
  decodeRunsInto,
  distance,
  distanceToSegment,
  encodeRuns,
  invert,
  normalizeBox,
  pixelScale,
  pointInPolygon,
  polygonArea,
  simplify,
  stampStroke,
  tidy,
  type Affine,
  type LabelMap,
} from "./geometry";

interface BoxOverlay {
  frame: number;
  boxes: readonly SuggestedBox[];
  onReject: (index: number) => void;
}

export type DrawTool = "select" | "box" | "polygon" | "freehand" | "point" | "brush" | "eraser";

export interface LabelInfo {
  name: string;
  color: string;
  /** 1-based value of this label in the mask layer. */
  value: number;
}

export interface DrawingLayerOptions {
  doc: AnnotationDocument;
  rows: number;
  columns: number;
  labels: LabelInfo[];
  affine: () => Affine | null;
  frame: () => number;
  activeLabel: () => string | null;
  readOnly?: boolean;
  onSelect?: (uid: string | null) => void;
  onMessage?: (text: string) => void;
}

const SVG = "http://www.w3.org/2000/svg";
const HIT_PX = 7;
const HANDLE_PX = 5;

type Drag =
  | { type: "box"; start: Point; current: Point }
  | { type: "freehand"; points: Point[] }
  | { type: "paint"; last: Point; value: number; erase: boolean; changed: number }
  | { type: "handle"; uid: string; index: number; original: Shape; current: Shape }
  | { type: "move"; uid: string; start: Point; original: Shape; current: Shape };

export class DrawingLayer {
  readonly svg: SVGSVGElement;
  readonly maskCanvas: HTMLCanvasElement;
  private tool: DrawTool = "select";
  private selected: string | null = null;
  private drag: Drag | null = null;
  private polygon: Point[] = [];
  private hover: Point | null = null;
  private brushRadius = 4;
  private masks = new Map<number, LabelMap>();
  private maskImage: HTMLCanvasElement;
  private maskDirty = true;
  /** A model's suggested masks not yet accepted, drawn fainter than the doctor's own. */
  private suggestion: { frame: number; map: LabelMap } | null = null;
  /** A model's suggested boxes not yet accepted: dashed, with their score; a click rejects one. */
  private boxSuggestion: BoxOverlay | null = null;
  private stopDoc: () => void;

  constructor(
    private readonly host: HTMLElement,
    private readonly opts: DrawingLayerOptions,
  ) {
    this.maskCanvas = document.createElement("canvas");
    this.maskCanvas.className = "mask-layer";
    this.svg = document.createElementNS(SVG, "svg");
    this.svg.classList.add("draw-layer");
    this.svg.setAttribute("data-testid", "draw-layer");
    this.maskImage = document.createElement("canvas");
    this.maskImage.width = opts.columns;
    this.maskImage.height = opts.rows;
    host.append(this.maskCanvas, this.svg);
    this.svg.addEventListener("pointerdown", this.onDown);
    this.svg.addEventListener("pointermove", this.onMove);
    this.svg.addEventListener("pointerup", this.onUp);
    this.svg.addEventListener("pointercancel", this.onCancel);
    this.svg.addEventListener("pointerleave", this.onLeave);
    this.svg.addEventListener("dblclick", this.onDoubleClick);
    this.stopDoc = opts.doc.subscribe((origin) => {
      if (origin !== "user") this.maskDirty = true;
      if (this.selected && !opts.doc.get(this.selected)) this.select(null);
      this.render();
    });
    this.setTool("select");
  }

  destroy(): void {
    this.stopDoc();
    this.svg.remove();
    this.maskCanvas.remove();
  }

  get currentTool(): DrawTool {
    return this.tool;
  }

  get selectedUid(): string | null {
    return this.selected;
  }

  get brushSize(): number {
    return this.brushRadius;
  }

  setBrushSize(radius: number): void {
    this.brushRadius = Math.min(100, Math.max(1, Math.round(radius)));
    this.render();
  }

  /** Drawing tools and select take the left button; otherwise clicks fall through. */
  setTool(tool: DrawTool | null): void {
    this.cancelPolygon();
    this.tool = tool ?? "select";
    const interactive = tool !== null && !this.opts.readOnly;
    this.svg.style.pointerEvents = interactive ? "auto" : "none";
    this.svg.dataset.tool = tool ?? "none";
    this.render();
  }

  select(uid: string | null): void {
    if (this.selected === uid) return;
    this.selected = uid;
    this.opts.onSelect?.(uid);
    this.render();
  }

  /** Keys the layer owns while drawing; true when the key was used. */
  handleKey(event: KeyboardEvent): boolean {
    if (this.polygon.length) {
      if (event.key === "Enter") {
        this.closePolygon();
        return true;
      }
      if (event.key === "Escape") {
        this.cancelPolygon();
        return true;
      }
      if (event.key === "Backspace") {
        this.polygon.pop();
        this.render();
        return true;
      }
    }
    if (
      (event.key === "Delete" || event.key === "Backspace") &&
      this.selected &&
      !this.opts.readOnly
    ) {
      this.opts.doc.remove(this.selected);
      this.select(null);
      return true;
    }
    if (event.key === "Escape" && this.selected) {
      this.select(null);
      return true;
    }
    return false;
  }

  /** Give the selected shape another label (number keys while a shape is selected). */
  relabelSelected(label: string): boolean {
    const shape = this.selected ? this.opts.doc.get(this.selected) : undefined;
    if (!shape || shape.kind === "class" || shape.kind === "mask" || this.opts.readOnly)
      return false;
    this.opts.doc.put({ ...shape, payload: { ...(shape.payload as ShapePayload), label } });
    return true;
  }

  // Pointer handling ------------------------------------------------------------------------

  private toImage(event: PointerEvent | MouseEvent): Point | null {
    const m = this.opts.affine();
    if (!m) return null;
    const rect = this.svg.getBoundingClientRect();
    return apply(invert(m), [event.clientX - rect.left, event.clientY - rect.top]);
  }

  private imageTolerance(): number {
    const m = this.opts.affine();
    return m ? HIT_PX / pixelScale(m) : HIT_PX;
  }

  private clamp(p: Point): Point {
    return clampPoint(p, this.opts.columns, this.opts.rows);
  }

  private onDown = (event: PointerEvent): void => {
    if (event.button !== 0 || this.opts.readOnly) return;
    const p = this.toImage(event);
    if (!p) return;
    event.preventDefault();
    event.stopPropagation();
    this.svg.setPointerCapture?.(event.pointerId);
    const handle = this.hitHandle(p);
    if (handle) {
      const original = this.opts.doc.get(handle.uid)!;
      this.drag = {
        type: "handle",
        uid: handle.uid,
        index: handle.index,
        original,
        current: original,
      };
      return;
    }
    const label = this.opts.activeLabel();
    switch (this.tool) {
      case "select": {
        const uid = this.hitShape(p);
        const suggested = uid ? null : this.hitSuggestedBox(p);
        if (suggested !== null) {
          this.boxSuggestion?.onReject(suggested);
          return;
        }
        this.select(uid);
        if (uid) {
          const original = this.opts.doc.get(uid)!;
          this.drag = { type: "move", uid, start: p, original, current: original };
        }
        return;
      }
      case "box":
        if (!this.needLabel(label)) return;
        this.drag = { type: "box", start: this.clamp(p), current: this.clamp(p) };
        return;
      case "freehand":
        if (!this.needLabel(label)) return;
        this.drag = { type: "freehand", points: [this.clamp(p)] };
        return;
      case "point":
        if (!this.needLabel(label)) return;
        this.commitNew("point", { label: label!, points: [tidy(this.clamp(p))] });
        return;
      case "polygon":
        if (!this.needLabel(label)) return;
        if (this.polygon.length >= 3 && distance(p, this.polygon[0]) <= this.imageTolerance()) {
          this.closePolygon();
        } else {
          this.polygon.push(this.clamp(p));
          this.render();
        }
        return;
      case "brush":
      case "eraser": {
        const info = this.labelInfo(label);
        if (!info) {
          this.needLabel(null);
          return;
        }
        const erase = this.tool === "eraser";
        this.drag = { type: "paint", last: p, value: info.value, erase, changed: 0 };
        this.paint(p);
        return;
      }
    }
  };

  private onMove = (event: PointerEvent): void => {
    const p = this.toImage(event);
    if (!p) return;
    this.hover = p;
    const drag = this.drag;
    if (!drag) {
      if (this.polygon.length || this.tool === "brush" || this.tool === "eraser") this.render();
      return;
    }
    if (drag.type === "box") drag.current = this.clamp(p);
    else if (drag.type === "freehand") {
      const q = this.clamp(p);
      if (distance(q, drag.points[drag.points.length - 1]) >= 0.25) drag.points.push(q);
    } else if (drag.type === "paint") this.paint(p);
    else if (drag.type === "handle")
      drag.current = moveHandle(drag.original, drag.index, this.clamp(p));
    else if (drag.type === "move")
      drag.current = this.translate(drag.original, p[0] - drag.start[0], p[1] - drag.start[1]);
    this.render();
  };

  private onUp = (event: PointerEvent): void => {
    const drag = this.drag;
    this.drag = null;
    this.svg.releasePointerCapture?.(event.pointerId);
    if (!drag) return;
    const label = this.opts.activeLabel();
    if (drag.type === "box") {
      const [a, b] = normalizeBox(drag.start, drag.current);
      if (b[0] - a[0] >= 1 && b[1] - a[1] >= 1) {
        this.commitNew("box", { label: label!, points: [tidy(a), tidy(b)] });
      }
    } else if (drag.type === "freehand") {
      const points = simplify(drag.points, 0.35).map(tidy);
      if (points.length >= 3 && polygonArea(points) >= 1)
        this.commitNew("polygon", { label: label!, points });
    } else if (drag.type === "paint") {
      this.commitMask(drag.value);
    } else if (drag.type === "handle" || drag.type === "move") {
      if (JSON.stringify(drag.current) !== JSON.stringify(drag.original)) {
        // Same UID: the server keeps one annotation and adds a version (never a duplicate).
        this.opts.doc.put(drag.current);
      }
    }
    this.render();
  };

  private onCancel = (): void => {
    this.drag = null;
    this.render();
  };

  private onLeave = (): void => {
    this.hover = null;
    if (!this.drag) this.render();
  };

  private onDoubleClick = (event: MouseEvent): void => {
    if (this.tool === "polygon" && this.polygon.length >= 3) {
      event.preventDefault();
      this.closePolygon();
    }
  };

  private needLabel(label: string | null): boolean {
    if (label) return true;
    this.opts.onMessage?.("Pick a label first (number keys)");
    return false;
  }

  private labelInfo(label: string | null): LabelInfo | undefined {
    return this.opts.labels.find((l) => l.name === label);
  }

  private commitNew(kind: "box" | "polygon" | "point", payload: ShapePayload): void {
    const uid = newUid();
    this.opts.doc.put({ uid, kind, frame: this.opts.frame(), payload });
    this.select(uid);
  }

  private closePolygon(): void {
    const label = this.opts.activeLabel();
    const points = this.polygon.map(tidy);
    this.polygon = [];
    if (label && points.length >= 3 && polygonArea(points) > 0)
      this.commitNew("polygon", { label, points });
    this.render();
  }

  private cancelPolygon(): void {
    if (this.polygon.length) {
      this.polygon = [];
      this.render();
    }
  }

  private translate(shape: Shape, dx: number, dy: number): Shape {
    const payload = shape.payload as ShapePayload;
    const xs = payload.points.map((p) => p[0]);
    const ys = payload.points.map((p) => p[1]);
    // Keep the whole shape inside the image while it moves.
    const cdx = Math.min(this.opts.columns - Math.max(...xs), Math.max(-Math.min(...xs), dx));
    const cdy = Math.min(this.opts.rows - Math.max(...ys), Math.max(-Math.min(...ys), dy));
    return {
      ...shape,
      payload: { ...payload, points: payload.points.map((p) => tidy([p[0] + cdx, p[1] + cdy])) },
    };
  }

  // Masks -----------------------------------------------------------------------------------

  private maskFor(frame: number): LabelMap {
    if (this.maskDirty) {
      this.masks.clear();
      this.maskDirty = false;
    }
    let map = this.masks.get(frame);
    if (!map) {
      map = createLabelMap(this.opts.rows, this.opts.columns);
      for (const shape of this.opts.doc.onFrame(frame)) {
        if (shape.kind !== "mask") continue;
        const payload = shape.payload as MaskPayload;
        const info = this.labelInfo(payload.label);
        if (info) decodeRunsInto(map, payload.size, payload.counts, info.value);
      }
      this.masks.set(frame, map);
    }
    return map;
  }

  private paint(p: Point): void {
    const drag = this.drag;
    if (!drag || drag.type !== "paint") return;
    const map = this.maskFor(this.opts.frame());
    const value = drag.erase ? 0 : drag.value;
    // A stroke touches only its own label: the brush fills background, the eraser clears its label.
    const paintable = drag.erase ? (v: number) => v === drag.value : (v: number) => v === 0;
    drag.changed += stampStroke(map, drag.last, p, this.brushRadius, value, paintable);
    drag.last = p;
  }

  private commitMask(value: number): void {
    const info = this.opts.labels.find((l) => l.value === value);
    if (!info) return;
    const frame = this.opts.frame();
    const map = this.maskFor(frame);
    const existing = this.opts.doc.maskFor(info.name, frame);
    const counts = encodeRuns(map, value);
    if (counts.length < 2) {
      if (existing) this.opts.doc.remove(existing.uid);
      return;
    }
    const payload: MaskPayload = { label: info.name, size: [map.rows, map.columns], counts };
    this.opts.doc.put({ uid: existing?.uid ?? newUid(), kind: "mask", frame, payload });
  }

  /** Show (or with null, hide) a model's suggested masks, in the class colours. */
  setSuggestion(suggestion: { frame: number; masks: MaskPayload[] } | null): void {
    this.suggestion = null;
    if (suggestion) {
      const map = createLabelMap(this.opts.rows, this.opts.columns);
      for (const mask of suggestion.masks) {
        const info = this.labelInfo(mask.label);
        if (info && mask.size[0] === map.rows && mask.size[1] === map.columns)
          decodeRunsInto(map, mask.size, mask.counts, info.value);
      }
      this.suggestion = { frame: suggestion.frame, map };
    }
    this.render();
  }

  /** Show (or with null, hide) a model's suggested boxes; `onReject` hears a click on one. */
  setBoxSuggestion(overlay: BoxOverlay | null): void {
    this.boxSuggestion = overlay;
    this.render();
  }

  /** Rebuild the mask pixels from the document (after undo, reload). */
  invalidateMasks(): void {
    this.maskDirty = true;
    this.render();
  }

  // Hit tests -------------------------------------------------------------------------------

  private vectorShapes(): Shape[] {
    return this.opts.doc.onFrame(this.opts.frame()).filter((s) => s.kind !== "mask");
  }

  private hitHandle(p: Point): { uid: string; index: number } | null {
    if (!this.selected) return null;
    const shape = this.opts.doc.get(this.selected);
    if (
      !shape ||
      shape.kind === "mask" ||
      shape.kind === "class" ||
      shape.frame !== this.opts.frame()
    )
      return null;
    const tol = this.imageTolerance();
    const handles = handlesOf(shape);
    const index = handles.findIndex((h) => distance(h, p) <= tol);
    return index >= 0 ? { uid: shape.uid, index } : null;
  }

  private hitShape(p: Point): string | null {
    const tol = this.imageTolerance();
    const shapes = this.vectorShapes().reverse();
    for (const shape of shapes) {
      const points = (shape.payload as ShapePayload).points;
      if (shape.kind === "point" && distance(points[0], p) <= tol) return shape.uid;
      const outline = shape.kind === "box" ? boxCorners(points) : points;
      if (shape.kind === "box" || shape.kind === "polygon") {
        if (pointInPolygon(p, outline)) return shape.uid;
        for (let i = 0; i < outline.length; i++) {
          if (distanceToSegment(p, outline[i], outline[(i + 1) % outline.length]) <= tol)
            return shape.uid;
        }
      }
    }
    return null;
  }

  private shownSuggestedBoxes(): readonly SuggestedBox[] {
    const overlay = this.boxSuggestion;
    return overlay && overlay.frame === this.opts.frame() ? overlay.boxes : [];
  }

  /** The suggested box under `p` (inside or on its edge), topmost first; its index. */
  private hitSuggestedBox(p: Point): number | null {
    const tol = this.imageTolerance();
    for (const box of [...this.shownSuggestedBoxes()].reverse()) {
      const outline = boxCorners(box.points);
      const onEdge = outline.some(
        (q, i) => distanceToSegment(p, q, outline[(i + 1) % outline.length]) <= tol,
      );
      if (onEdge || pointInPolygon(p, outline)) return box.index;
    }
    return null;
  }

  // Rendering -------------------------------------------------------------------------------

  render(): void {
    const m = this.opts.affine();
    const width = this.host.clientWidth;
    const height = this.host.clientHeight;
    this.svg.setAttribute("width", String(width));
    this.svg.setAttribute("height", String(height));
    this.svg.replaceChildren();
    this.renderMasks(m, width, height);
    if (!m) return;
    const toCanvas = (p: Point) => apply(m, p);
    const drag = this.drag;
    for (const stored of this.vectorShapes()) {
      let shape = stored;
      if (drag && (drag.type === "handle" || drag.type === "move") && drag.uid === shape.uid)
        shape = drag.current;
      this.drawShape(shape, toCanvas, shape.uid === this.selected);
    }
    for (const box of this.shownSuggestedBoxes()) this.drawSuggestedBox(box, toCanvas);
    const label = this.opts.activeLabel();
    const color = this.labelInfo(label)?.color ?? "#ffb000";
    if (drag?.type === "box") {
      this.svg.append(polygonEl(boxCorners([drag.start, drag.current]).map(toCanvas), color, true));
    } else if (drag?.type === "freehand") {
      this.svg.append(polylineEl(drag.points.map(toCanvas), color));
    }
    if (this.polygon.length) {
      const pts = [...this.polygon, ...(this.hover ? [this.hover] : [])].map(toCanvas);
      this.svg.append(polylineEl(pts, color));
      for (const v of this.polygon.map(toCanvas)) this.svg.append(handleEl(v, color));
    }
    if ((this.tool === "brush" || this.tool === "eraser") && this.hover) {
      const c = toCanvas(this.hover);
      const ring = document.createElementNS(SVG, "circle");
      ring.setAttribute("cx", String(c[0]));
      ring.setAttribute("cy", String(c[1]));
      ring.setAttribute("r", String(this.brushRadius * pixelScale(m)));
      ring.setAttribute("class", "brush-cursor");
      ring.setAttribute("stroke", this.tool === "eraser" ? "#ffffff" : color);
      this.svg.append(ring);
    }
  }

  private drawShape(shape: Shape, toCanvas: (p: Point) => Point, selected: boolean): void {
    const payload = shape.payload as ShapePayload;
    const color = this.labelInfo(payload.label)?.color ?? "#ffb000";
    const group = document.createElementNS(SVG, "g");
    group.setAttribute("data-uid", shape.uid);
    group.setAttribute("data-kind", shape.kind);
    if (selected) group.setAttribute("class", "selected");
    if (shape.kind === "point") {
      const c = toCanvas(payload.points[0]);
      const dot = document.createElementNS(SVG, "circle");
      dot.setAttribute("cx", String(c[0]));
      dot.setAttribute("cy", String(c[1]));
      dot.setAttribute("r", "4");
      dot.setAttribute("fill", color);
      dot.setAttribute("stroke", "#000");
      group.append(dot);
    } else {
      const outline = shape.kind === "box" ? boxCorners(payload.points) : payload.points;
      group.append(polygonEl(outline.map(toCanvas), color, false));
    }
    const anchor = toCanvas(payload.points[0]);
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", String(anchor[0] + 4));
    text.setAttribute("y", String(anchor[1] - 4));
    text.setAttribute("fill", color);
    const score = this.opts.doc.originOf(shape.uid)?.box?.score;
    text.textContent = score === undefined ? payload.label : `${payload.label} ${scoreText(score)}`;
    group.append(text);
    if (selected) for (const h of handlesOf(shape)) group.append(handleEl(toCanvas(h), color));
    this.svg.append(group);
  }

  private drawSuggestedBox(box: SuggestedBox, toCanvas: (p: Point) => Point): void {
    const color = this.labelInfo(box.label)?.color ?? "#ffb000";
    const group = document.createElementNS(SVG, "g");
    group.setAttribute("class", "suggested-box");
    group.setAttribute("data-suggested-index", String(box.index));
    group.append(polygonEl(boxCorners(box.points).map(toCanvas), color, true));
    const anchor = toCanvas(box.points[0]);
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", String(anchor[0] + 4));
    text.setAttribute("y", String(anchor[1] - 4));
    text.setAttribute("fill", color);
    text.textContent = `${box.label} ${scoreText(box.score)}`;
    group.append(text);
    this.svg.append(group);
  }

  private renderMasks(m: Affine | null, width: number, height: number): void {
    const dpr = window.devicePixelRatio || 1;
    this.maskCanvas.width = Math.round(width * dpr);
    this.maskCanvas.height = Math.round(height * dpr);
    this.maskCanvas.style.width = `${width}px`;
    this.maskCanvas.style.height = `${height}px`;
    const ctx = this.maskCanvas.getContext("2d");
    if (!ctx || !m) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.maskCanvas.width, this.maskCanvas.height);
    const map = this.maskFor(this.opts.frame());
    const img = this.maskImage.getContext("2d");
    if (!img) return;
    const pixels = img.createImageData(map.columns, map.rows);
    const colors = new Map(this.opts.labels.map((l) => [l.value, hexToRgb(l.color)]));
    const suggested =
      this.suggestion && this.suggestion.frame === this.opts.frame() ? this.suggestion.map : null;
    let any = false;
    for (let i = 0; i < map.data.length; i++) {
      // The doctor's own pixels first; a suggestion shows where the doctor has painted nothing.
      const own = map.data[i];
      const value = own || (suggested ? suggested.data[i] : 0);
      const rgb = value ? colors.get(value) : undefined;
      if (!rgb) continue;
      any = true;
      pixels.data.set([rgb[0], rgb[1], rgb[2], own ? 115 : 70], i * 4);
    }
    if (!any) return;
    img.putImageData(pixels, 0, 0);
    ctx.setTransform(m.a * dpr, m.b * dpr, m.c * dpr, m.d * dpr, m.e * dpr, m.f * dpr);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.maskImage, 0, 0);
  }

  /** Pixels of a label's mask on a frame, for tests and the suggestion overlay. */
  maskPixelCount(label: string, frame: number): number {
    const info = this.labelInfo(label);
    if (!info) return 0;
    return this.maskFor(frame).data.reduce((n, v) => n + (v === info.value ? 1 : 0), 0);
  }

  clearLabel(label: string): void {
    const info = this.labelInfo(label);
    if (info) clearValue(this.maskFor(this.opts.frame()), info.value);
  }
}

function handlesOf(shape: Shape): Point[] {
  const points = (shape.payload as ShapePayload).points;
  return shape.kind === "box" ? boxCorners(points) : points;
}

/** Drag handle `index` of a shape to `p`; a box corner keeps the opposite corner fixed. */
export function moveHandle(shape: Shape, index: number, p: Point): Shape {
  const payload = shape.payload as ShapePayload;
  if (shape.kind === "box") {
    const corners = boxCorners(payload.points);
    const opposite = corners[(index + 2) % 4];
    const [a, b] = normalizeBox(opposite, p);
    return { ...shape, payload: { ...payload, points: [tidy(a), tidy(b)] } };
  }
  const points = payload.points.map((q, i) => (i === index ? tidy(p) : q));
  return { ...shape, payload: { ...payload, points } };
}

function polygonEl(points: Point[], color: string, dashed: boolean): SVGPolygonElement {
  const el = document.createElementNS(SVG, "polygon");
  el.setAttribute("points", points.map((p) => `${p[0]},${p[1]}`).join(" "));
  el.setAttribute("stroke", color);
  el.setAttribute("fill", "transparent");
  el.setAttribute("class", dashed ? "shape preview" : "shape");
  return el;
}

function polylineEl(points: Point[], color: string): SVGPolylineElement {
  const el = document.createElementNS(SVG, "polyline");
  el.setAttribute("points", points.map((p) => `${p[0]},${p[1]}`).join(" "));
  el.setAttribute("stroke", color);
  el.setAttribute("fill", "none");
  el.setAttribute("class", "shape preview");
  return el;
}

function handleEl(p: Point, color: string): SVGRectElement {
  const el = document.createElementNS(SVG, "rect");
  el.setAttribute("x", String(p[0] - HANDLE_PX / 2 - 1));
  el.setAttribute("y", String(p[1] - HANDLE_PX / 2 - 1));
  el.setAttribute("width", String(HANDLE_PX + 2));
  el.setAttribute("height", String(HANDLE_PX + 2));
  el.setAttribute("fill", color);
  el.setAttribute("class", "handle");
  return el;
}

export function hexToRgb(hex: string): [number, number, number] {
  const h = hex.replace("#", "");
  const full =
    h.length === 3
      ? h
          .split("")
          .map((c) => c + c)
          .join("")
      : h.slice(0, 6);
  const n = Number.parseInt(full, 16);
  return Number.isFinite(n) ? [(n >> 16) & 255, (n >> 8) & 255, n & 255] : [255, 176, 0];
}
