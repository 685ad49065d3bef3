/**
 * The annotations of the item on screen, as the doctor sees them right now.
 *
 * It is the single source of truth for the drawing layer and the class buttons: every change
 * (drawn, edited, deleted, undone) goes through `apply`, which records it for undo/redo and hands
 * the write to the outbox under the annotation's own UID. Server versions come back through
 * `confirm`, so the next edit of the same shape supersedes the right version (If-Match).
 */
import type { Outbox } from "../api/outbox";
import type {
  Annotation,
  AnnotationKind,
  AnyPayload,
  MaskPayload,
  ShapePayload,
} from "../api/types";
import { boxProvenanceOf } from "./boxSuggestion";
import { provenanceOf, type SuggestionOrigin } from "./maskSuggestion";

export interface Shape {
  uid: string;
  kind: AnnotationKind;
  frame: number;
  payload: AnyPayload;
}

interface Change {
  uid: string;
  before: Shape | null;
  after: Shape | null;
}

export type DocumentListener = (origin: "user" | "history" | "load") => void;

/** Where a document's writes go: the outbox (saved to the server) or a draft kept in the page. */
export type DocumentSink = Pick<Outbox, "subscribe" | "pending" | "enqueue" | "flush">;

/**
 * A sink that keeps every change in the page: the review screen edits a copy of a reader's
 * answer this way and sends it as one adjudication when the reviewer saves.
 */
export const draftSink: DocumentSink = {
  subscribe: () => () => undefined,
  pending: () => [],
  enqueue: () => undefined,
  flush: () => Promise.resolve(),
};

export function newUid(): string {
  // randomUUID needs a secure context; 127.0.0.1 and https are, a plain-http LAN host is not.
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class AnnotationDocument {
  private shapes = new Map<string, Shape>();
  /** Last version the server confirmed per UID, deletions included (null: never saved). */
  private versions = new Map<string, number | null>();
  /** Masks that started from a model's suggestion: their saves carry provenance. */
  private origins = new Map<string, SuggestionOrigin>();
  private undoStack: Change[] = [];
  private redoStack: Change[] = [];
  private listeners = new Set<DocumentListener>();
  private stopOutbox: () => void;

  constructor(
    readonly itemId: number,
    private readonly outbox: DocumentSink,
  ) {
    this.stopOutbox = outbox.subscribe((event) => {
      if (event.type === "saved" && event.itemId === itemId) {
        // A deletion is a version too: re-creating the shape (undo) supersedes it.
        this.versions.set(event.uid, event.version > 0 ? event.version : null);
      }
    });
  }

  dispose(): void {
    this.stopOutbox();
    this.listeners.clear();
  }

  /** Start from the server's current annotations, then re-apply writes not yet confirmed. */
  load(server: Annotation[]): void {
    this.shapes.clear();
    this.versions.clear();
    this.origins.clear();
    for (const a of server) {
      this.versions.set(a.uid, a.version);
      if (a.provenance && a.kind === "mask") {
        const { suggested_by: suggestedBy, accepted } = a.provenance;
        this.origins.set(a.uid, { suggestedBy, accepted, suggested: null });
      }
      if (a.provenance && a.kind === "box" && "box_index" in a.provenance) {
        const { suggested_by: suggestedBy, accepted, box_index: index, score } = a.provenance;
        const box = { index, score, points: null };
        this.origins.set(a.uid, { suggestedBy, accepted, suggested: null, box });
      }
      if (!a.deleted)
        this.shapes.set(a.uid, { uid: a.uid, kind: a.kind, frame: a.frame, payload: a.payload });
    }
    for (const w of this.outbox.pending(this.itemId)) {
      if (w.op === "delete") this.shapes.delete(w.uid);
      else this.shapes.set(w.uid, { uid: w.uid, kind: w.kind, frame: w.frame, payload: w.payload });
    }
    this.undoStack = [];
    this.redoStack = [];
    this.notify("load");
  }

  /** Start from these shapes as if just loaded: no server versions, an empty undo history. */
  startFrom(shapes: Shape[]): void {
    this.shapes = new Map(shapes.map((s) => [s.uid, s]));
    this.versions.clear();
    this.origins.clear();
    this.undoStack = [];
    this.redoStack = [];
    this.notify("load");
  }

  subscribe(listener: DocumentListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  all(): Shape[] {
    return [...this.shapes.values()];
  }

  onFrame(frame: number): Shape[] {
    return this.all().filter((s) => s.frame === frame && s.kind !== "class");
  }

  get(uid: string): Shape | undefined {
    return this.shapes.get(uid);
  }

  classShape(): Shape | undefined {
    return this.all().find((s) => s.kind === "class");
  }

  maskFor(label: string, frame: number): Shape | undefined {
    return this.all().find(
      (s) =>
        s.kind === "mask" && s.frame === frame && (s.payload as { label: string }).label === label,
    );
  }

  get isEmpty(): boolean {
    return this.shapes.size === 0;
  }

  version(uid: string): number | null {
    return this.versions.get(uid) ?? null;
  }

  /** Create or replace one shape (same UID = same annotation, a new version on the server). */
  put(shape: Shape): void {
    this.apply(
      { uid: shape.uid, before: this.shapes.get(shape.uid) ?? null, after: shape },
      "user",
    );
  }

  /** Put a mask or box that comes from a model's suggestion; it and its later edits carry
   * provenance. */
  putSuggested(shape: Shape, origin: SuggestionOrigin): void {
    this.origins.set(shape.uid, origin);
    this.put(shape);
  }

  /** The suggestion a mask started from, if any. */
  originOf(uid: string): SuggestionOrigin | undefined {
    return this.origins.get(uid);
  }

  remove(uid: string): void {
    const before = this.shapes.get(uid);
    if (before) this.apply({ uid, before, after: null }, "user");
  }

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }

  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }

  undo(): boolean {
    const change = this.undoStack.pop();
    if (!change) return false;
    this.write({ uid: change.uid, before: change.after, after: change.before });
    this.redoStack.push(change);
    this.notify("history");
    return true;
  }

  redo(): boolean {
    const change = this.redoStack.pop();
    if (!change) return false;
    this.write(change);
    this.undoStack.push(change);
    this.notify("history");
    return true;
  }

  private apply(change: Change, origin: "user"): void {
    if (same(change.before, change.after)) return;
    this.write(change);
    this.undoStack.push(change);
    this.redoStack = [];
    this.notify(origin);
  }

  private write(change: Change): void {
    const { uid, after, before } = change;
    const base = this.versions.get(uid) ?? null;
    if (after) {
      this.shapes.set(uid, after);
      this.outbox.enqueue({
        uid,
        itemId: this.itemId,
        op: "put",
        kind: after.kind,
        frame: after.frame,
        payload: after.payload,
        baseVersion: base,
        ...this.provenance(uid, after),
      });
    } else if (before) {
      this.shapes.delete(uid);
      this.outbox.enqueue({
        uid,
        itemId: this.itemId,
        op: "delete",
        kind: before.kind,
        frame: before.frame,
        payload: before.payload,
        baseVersion: base,
      });
    }
    void this.outbox.flush();
  }

  private provenance(uid: string, shape: Shape) {
    const origin = this.origins.get(uid);
    if (origin && shape.kind === "box" && origin.box)
      return { provenance: boxProvenanceOf(origin, shape.payload as ShapePayload) };
    if (!origin || shape.kind !== "mask") return {};
    return { provenance: provenanceOf(origin, shape.payload as MaskPayload) };
  }

  private notify(origin: "user" | "history" | "load"): void {
    for (const listener of this.listeners) listener(origin);
  }
}

function same(a: Shape | null, b: Shape | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
