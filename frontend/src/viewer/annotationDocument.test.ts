import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { ApiClient } from "../api/client";
import { Outbox } from "../api/outbox";
import { AnnotationServer, MemoryStorage } from "../test/annotationServer";
import { AnnotationDocument, newUid } from "./annotationDocument";

let server: AnnotationServer;
let outbox: Outbox;
let storage: MemoryStorage;

beforeEach(async () => {
  server = new AnnotationServer();
  const baseUrl = await server.start();
  storage = new MemoryStorage();
  outbox = new Outbox(new ApiClient({ baseUrl }), storage, "outbox");
});

afterEach(async () => {
  await server.stop();
});

const box = (x: number) => ({
  label: "nodule",
  points: [
    [x, 10],
    [x + 20, 30],
  ] as [number, number][],
});

describe("the annotation document of the item on screen", () => {
  it("saves an edited shape as a new version of the same annotation", async () => {
    const doc = new AnnotationDocument(3, outbox);
    doc.load([]);
    const uid = newUid();
    doc.put({ uid, kind: "box", frame: 1, payload: box(10) });
    await outbox.flush();
    doc.put({ uid, kind: "box", frame: 1, payload: box(15) });
    await outbox.flush();
    expect(server.versions.map((v) => [v.uid, v.version])).toEqual([
      [uid, 1],
      [uid, 2],
    ]);
    expect(doc.version(uid)).toBe(2);
  });

  it("undoes and redoes through the server", async () => {
    const doc = new AnnotationDocument(3, outbox);
    doc.load([]);
    const uid = newUid();
    doc.put({ uid, kind: "box", frame: 1, payload: box(10) });
    await outbox.flush();
    doc.undo();
    await outbox.flush();
    expect(doc.all()).toEqual([]);
    expect(server.current(uid)?.deleted).toBe(true);
    doc.redo();
    await outbox.flush();
    expect(doc.get(uid)?.payload).toEqual(box(10));
    expect(server.current(uid)).toMatchObject({ deleted: false, version: 3 });
  });

  it("shows unsaved shapes again after a reload", async () => {
    await server.stop();
    const doc = new AnnotationDocument(3, outbox);
    doc.load([]);
    const uid = newUid();
    doc.put({ uid, kind: "box", frame: 1, payload: box(10) });
    await outbox.flush();
    const reloaded = new AnnotationDocument(
      3,
      new Outbox(new ApiClient({ baseUrl: "http://127.0.0.1:9" }), storage, "outbox"),
    );
    reloaded.load([]);
    expect(reloaded.get(uid)?.payload).toEqual(box(10));
    server = new AnnotationServer();
    await server.start();
  });

  it("sends the provenance of a mask that started from a suggestion, with its edit counts", async () => {
    await server.stop(); // the writes stay pending: their bodies can be read
    const doc = new AnnotationDocument(3, outbox);
    doc.load([]);
    const suggested = { label: "lesion", size: [2, 4] as [number, number], counts: [0, 4, 4] };
    const uid = newUid();
    doc.putSuggested(
      { uid, kind: "mask", frame: 1, payload: suggested },
      { suggestedBy: 41, accepted: true, suggested },
    );
    await outbox.flush();
    expect(outbox.pending(3)[0].provenance).toEqual({
      suggested_by: 41,
      accepted: true,
      pixels_added: 0,
      pixels_removed: 0,
    });
    // The eraser takes two pixels of the first row, the brush adds one in the second.
    doc.put({ uid, kind: "mask", frame: 1, payload: { ...suggested, counts: [0, 2, 3, 1, 2] } });
    await outbox.flush();
    expect(outbox.pending(3)[0].provenance).toMatchObject({ pixels_added: 1, pixels_removed: 2 });
    // A mask drawn from scratch carries none.
    doc.put({ uid: newUid(), kind: "mask", frame: 1, payload: { ...suggested, label: "cyst" } });
    await outbox.flush();
    expect(outbox.pending(3).filter((w) => w.provenance)).toHaveLength(1);
    server = new AnnotationServer();
    await server.start();
  });

  it("has fresh UIDs in the RFC 4122 version 4 form", () => {
    expect(newUid()).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
