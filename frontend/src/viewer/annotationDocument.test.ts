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

  it("has fresh UIDs in the RFC 4122 version 4 form", () => {
    expect(newUid()).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
