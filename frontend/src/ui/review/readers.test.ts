import { describe, expect, it } from "vitest";

import type { Annotation, ReviewItem } from "../../api/types";
import {
  adjudicatedAnswer,
  adjudicationBody,
  describeAnswer,
  draftFrom,
  nextSolo,
  readerAnswers,
  readerLabelInfos,
  readerLayerShapes,
} from "./readers";

function annotation(author: number, kind: Annotation["kind"], payload: object, source = "human") {
  return {
    uid: `${author}-${kind}-${Math.random()}`,
    version: 1,
    item: 7,
    kind,
    frame: 1,
    payload,
    author,
    source,
    deleted: false,
    created_at: "",
    time_spent_ms: 0,
  } as Annotation;
}

const box = (label: string) => ({
  label,
  points: [
    [1, 2],
    [10, 12],
  ],
});

const item: ReviewItem = {
  id: 7,
  frame: 1,
  reads_done: 2,
  review_state: "pending",
  review_reason: "disagreement",
  instance: {} as ReviewItem["instance"],
  readers: [
    { id: 3, username: "anna", submitted_at: "" },
    { id: 4, username: "ben", submitted_at: "" },
  ],
  annotations: [
    annotation(3, "box", box("nodule")),
    annotation(4, "box", box("mass")),
    annotation(4, "box", box("mass")),
    annotation(9, "box", box("nodule"), "review"),
  ],
  adjudication: null,
  comments: 0,
};

describe("reader answers", () => {
  it("groups the readers' shapes in submission order, each with its key and colour", () => {
    const answers = readerAnswers(item);
    expect(answers.map((a) => [a.key, a.reader.username, a.shapes.length])).toEqual([
      [1, "anna", 1],
      [2, "ben", 2],
    ]);
    expect(answers[0].color).not.toBe(answers[1].color);
    expect(answers.every((a) => a.labels === null)).toBe(true);
    expect(describeAnswer(answers[1].labels, answers[1].shapes)).toBe("2× box mass");
    expect(describeAnswer(["normal"], [])).toBe("normal");
    expect(describeAnswer([], [])).toBe("no findings");
  });

  it("shows the current adjudication as a layer of its own, apart from the readers", () => {
    const adjudicated = adjudicatedAnswer(item);
    expect(adjudicated?.reader.username).toBe("adjudicated");
    expect(adjudicated?.shapes.map((s) => (s.payload as { label: string }).label)).toEqual([
      "nodule",
    ]);
    expect(adjudicatedAnswer({ ...item, annotations: item.annotations.slice(0, 3) })).toBeNull();
  });

  it("names each layer's shapes after the reader, in the reader's colour", () => {
    const [anna] = readerAnswers(item);
    const infos = readerLabelInfos(
      [{ id: 1, name: "nodule", index: 0, color: "#ff0000", shortcut: "" }],
      anna,
    );
    expect(infos).toEqual([{ name: "anna: nodule", color: anna.color, value: 1 }]);
    expect(readerLayerShapes(anna).map((s) => (s.payload as { label: string }).label)).toEqual([
      "anna: nodule",
    ]);
  });

  it("copies an answer under new UIDs, so editing never touches the reader's shapes", () => {
    const [anna] = readerAnswers(item);
    const copy = draftFrom(anna, 1);
    expect(copy).toHaveLength(1);
    expect(copy[0].uid).not.toBe(anna.shapes[0].uid);
    (copy[0].payload as { label: string }).label = "mass";
    expect((anna.shapes[0].payload as { label: string }).label).toBe("nodule");
    expect(draftFrom({ ...anna, labels: ["x"], shapes: [] }, 1)[0].payload).toEqual({
      labels: ["x"],
    });
  });

  it("turns a draft into the adjudication the server takes", () => {
    const [, ben] = readerAnswers(item);
    const shapes = draftFrom(ben, 1);
    expect(adjudicationBody(shapes, "detection")).toEqual({
      payload: { annotations: shapes.map((s) => ({ kind: "box", frame: 1, payload: s.payload })) },
    });
    expect(adjudicationBody([], "detection")).toEqual({ payload: { labels: [] } });
    const cls = [{ uid: "u", kind: "class" as const, frame: 1, payload: { labels: ["normal"] } }];
    expect(adjudicationBody(cls, "classification", "RLL")).toEqual({
      payload: { labels: ["normal"] },
      note: "RLL",
    });
  });

  it("cycles the layers: all, each reader alone, all again", () => {
    expect([nextSolo(null, 2), nextSolo(0, 2), nextSolo(1, 2), nextSolo(null, 1)]).toEqual([
      0,
      1,
      null,
      null,
    ]);
  });
});
