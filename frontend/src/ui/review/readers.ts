/**
 * The readers of an item under review as the screen shows them: one answer (labels and shapes)
 * per reader, in submission order, each with its own colour; and the other way round, a draft
 * document turned into the adjudication the server takes. Pure functions, tested without a
 * browser.
 */
import type {
  Annotation,
  ClassPayload,
  LabelClass,
  Reader,
  ReviewBody,
  ReviewItem,
} from "../../api/types";
import { newUid, type Shape } from "../../viewer/annotationDocument";
import type { LabelInfo } from "../../viewer/drawingLayer";

/** Distinct on black and on each other, and not the class colours' usual red/green pair. */
export const READER_COLORS = [
  "#ffd33d",
  "#39c5ff",
  "#ff7bd5",
  "#a5ff6b",
  "#ff9d42",
  "#b99cff",
  "#6bffe0",
  "#ffffff",
  "#ff6b6b",
];

export interface ReaderAnswer {
  reader: Reader;
  /** 1-based: the key that accepts this answer. */
  key: number;
  color: string;
  /** Classification answer or "no findings" ([]); null when the reader gave none. */
  labels: string[] | null;
  /** Boxes, polygons, points and masks, as stored. */
  shapes: Shape[];
}

function shapeOf(a: Annotation): Shape {
  return { uid: a.uid, kind: a.kind, frame: a.frame, payload: a.payload };
}

/** Each reader's current answer; the adjudication's own shapes (source "review") are apart. */
export function readerAnswers(item: ReviewItem): ReaderAnswer[] {
  return item.readers.map((reader, i) => {
    const mine = item.annotations.filter((a) => a.source === "human" && a.author === reader.id);
    const classes = mine.filter((a) => a.kind === "class");
    return {
      reader,
      key: i + 1,
      color: READER_COLORS[i % READER_COLORS.length],
      labels: classes.length ? classes.flatMap((a) => (a.payload as ClassPayload).labels) : null,
      shapes: mine.filter((a) => a.kind !== "class").map(shapeOf),
    };
  });
}

/** The colour of the current adjudication's layer. */
export const ADJUDICATION_COLOR = "#f0f6fc";

/** The current adjudication as a layer of its own, named "adjudicated"; null when none. */
export function adjudicatedAnswer(item: ReviewItem): ReaderAnswer | null {
  const mine = item.annotations.filter((a) => a.source === "review");
  if (!mine.length) return null;
  const classes = mine.filter((a) => a.kind === "class");
  return {
    reader: { id: 0, username: "adjudicated", submitted_at: "" },
    key: 0,
    color: ADJUDICATION_COLOR,
    labels: classes.length ? classes.flatMap((a) => (a.payload as ClassPayload).labels) : null,
    shapes: mine.filter((a) => a.kind !== "class").map(shapeOf),
  };
}

/** A one-line summary of an answer for the side panel and screen readers. */
export function describeAnswer(labels: string[] | null, shapes: Shape[]): string {
  const parts: string[] = [];
  if (labels !== null) parts.push(labels.length ? labels.join(", ") : "no findings");
  const counts = new Map<string, number>();
  for (const s of shapes) {
    const name = `${s.kind} ${(s.payload as { label?: string }).label ?? ""}`.trim();
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  for (const [name, n] of counts) parts.push(n > 1 ? `${n}× ${name}` : name);
  return parts.length ? parts.join(" · ") : "no answer";
}

/** A copy of a reader's answer under new UIDs: the draft the reviewer edits. */
export function draftFrom(answer: ReaderAnswer | null, frame: number): Shape[] {
  if (!answer) return [];
  const copy: Shape[] = answer.shapes.map((s) => ({
    ...s,
    uid: newUid(),
    payload: JSON.parse(JSON.stringify(s.payload)) as Shape["payload"],
  }));
  if (answer.labels !== null)
    copy.push({ uid: newUid(), kind: "class", frame, payload: { labels: [...answer.labels] } });
  return copy;
}

/**
 * The draft as an adjudication: its class answer as labels, every other shape as an
 * annotation. A shape task with nothing left says "no findings" (labels: []).
 */
export function adjudicationBody(shapes: Shape[], taskType: string, note = ""): ReviewBody {
  const classShape = shapes.find((s) => s.kind === "class");
  const others = shapes.filter((s) => s.kind !== "class");
  const payload: Extract<ReviewBody, { payload: unknown }>["payload"] = {};
  if (classShape) payload.labels = [...(classShape.payload as ClassPayload).labels];
  if (others.length)
    payload.annotations = others.map((s) => ({ kind: s.kind, frame: s.frame, payload: s.payload }));
  if (!classShape && !others.length) payload.labels = [];
  if (taskType !== "classification" && others.length && payload.labels?.length === 0)
    delete payload.labels; // "no findings" next to shapes would contradict them
  return note ? { payload, note } : { payload };
}

/**
 * The drawing layer's labels for one reader: every class in the reader's colour, named
 * "reader: class", so the image says whose shape it is and which class it has.
 */
export function readerLabelInfos(labels: LabelClass[], answer: ReaderAnswer): LabelInfo[] {
  return labels.map((l) => ({
    name: `${answer.reader.username}: ${l.name}`,
    color: answer.color,
    value: l.index + 1,
  }));
}

/** A reader's shapes with their labels renamed as readerLabelInfos names them. */
export function readerLayerShapes(answer: ReaderAnswer): Shape[] {
  return answer.shapes.map((s) => ({
    ...s,
    payload: {
      ...s.payload,
      label: `${answer.reader.username}: ${(s.payload as { label: string }).label}`,
    } as Shape["payload"],
  }));
}

/** Which readers' layers show: all (null) or one reader (its index); T cycles through them. */
export function nextSolo(solo: number | null, readers: number): number | null {
  if (readers <= 1) return null;
  if (solo === null) return 0;
  return solo + 1 < readers ? solo + 1 : null;
}
