import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { AnnotationServer, MemoryStorage } from "../test/annotationServer";
import { ApiClient } from "./client";
import { Outbox } from "./outbox";

const UID = "0b0e2c1a-4c7e-4b8e-9a51-6f1f8f0f0a01";
const box = (x: number) => ({
  label: "nodule",
  points: [
    [x, 10],
    [x + 20, 30],
  ] as [number, number][],
});

let server: AnnotationServer;
let baseUrl: string;
let storage: MemoryStorage;

beforeEach(async () => {
  server = new AnnotationServer();
  baseUrl = await server.start();
  storage = new MemoryStorage();
});

afterEach(async () => {
  await server.stop().catch(() => undefined);
});

function outbox(url = baseUrl): Outbox {
  return new Outbox(new ApiClient({ baseUrl: url }), storage, "outbox");
}

describe("the outbox of unsaved annotations", () => {
  it("creates an annotation without If-Match, then supersedes it with If-Match", async () => {
    const box1 = outbox();
    box1.enqueue({
      uid: UID,
      itemId: 7,
      op: "put",
      kind: "box",
      frame: 1,
      payload: box(10),
      baseVersion: null,
    });
    await box1.flush();
    box1.enqueue({
      uid: UID,
      itemId: 7,
      op: "put",
      kind: "box",
      frame: 1,
      payload: box(12),
      baseVersion: 1,
    });
    await box1.flush();
    expect(server.requests).toEqual([
      `PUT /api/v1/items/7/annotations/${UID} -`,
      `PUT /api/v1/items/7/annotations/${UID} "1"`,
    ]);
    expect(server.current(UID)).toMatchObject({ version: 2, payload: box(12) });
    expect(box1.size).toBe(0);
    expect(storage.getItem("outbox")).toBeNull();
  });

  it("keeps writes across a reload while the server is unreachable, then sends them with the same UID", async () => {
    const port = server.port;
    await server.stop();
    const before = outbox();
    before.enqueue({
      uid: UID,
      itemId: 7,
      op: "put",
      kind: "box",
      frame: 1,
      payload: box(10),
      baseVersion: null,
    });
    await before.flush();
    expect(before.pending()[0].lastError).toMatch(/^network/);

    server = new AnnotationServer();
    await server.start(port);
    const afterReload = outbox(); // a fresh page reads localStorage
    expect(afterReload.pending().map((w) => w.uid)).toEqual([UID]);
    await afterReload.flush();
    expect(server.versions).toHaveLength(1);
    expect(server.current(UID)).toMatchObject({ uid: UID, version: 1, payload: box(10) });
  });

  it("does not duplicate when the server stored a write but its answer was lost", async () => {
    server.loseAnswers = 1;
    const box1 = outbox();
    box1.enqueue({
      uid: UID,
      itemId: 7,
      op: "put",
      kind: "box",
      frame: 1,
      payload: box(10),
      baseVersion: null,
    });
    await box1.flush(); // connection dropped after the write: looks like a network failure
    expect(box1.size).toBe(1);
    await box1.flush(); // retry → 412 → history shows our payload → adopted, not re-sent
    expect(box1.size).toBe(0);
    expect(server.versions).toHaveLength(1);
  });

  it("re-sends on top of a version it missed when the payload differs", async () => {
    const box1 = outbox();
    box1.enqueue({
      uid: UID,
      itemId: 7,
      op: "put",
      kind: "box",
      frame: 1,
      payload: box(10),
      baseVersion: null,
    });
    await box1.flush();
    // Another tab edited the same annotation to version 2.
    server.versions.push({ ...server.current(UID)!, version: 2, payload: box(50) });
    box1.enqueue({
      uid: UID,
      itemId: 7,
      op: "put",
      kind: "box",
      frame: 1,
      payload: box(12),
      baseVersion: 1,
    });
    await box1.flush();
    expect(server.current(UID)).toMatchObject({ version: 3, payload: box(12) });
  });

  it("coalesces edits of one annotation into a single write", async () => {
    const box1 = outbox();
    for (const x of [10, 11, 12, 13]) {
      box1.enqueue({
        uid: UID,
        itemId: 7,
        op: "put",
        kind: "box",
        frame: 1,
        payload: box(x),
        baseVersion: null,
      });
    }
    await box1.flush();
    expect(server.versions.map((v) => (v.payload as ReturnType<typeof box>).points[0][0])).toEqual([
      13,
    ]);
  });

  it("forgets a shape deleted before it ever reached the server", async () => {
    const box1 = outbox();
    box1.enqueue({
      uid: UID,
      itemId: 7,
      op: "put",
      kind: "box",
      frame: 1,
      payload: box(10),
      baseVersion: null,
    });
    box1.enqueue({
      uid: UID,
      itemId: 7,
      op: "delete",
      kind: "box",
      frame: 1,
      payload: box(10),
      baseVersion: null,
    });
    await box1.flush();
    expect(server.requests).toEqual([]);
  });

  it("deletes a saved annotation with If-Match", async () => {
    const box1 = outbox();
    box1.enqueue({
      uid: UID,
      itemId: 7,
      op: "put",
      kind: "box",
      frame: 1,
      payload: box(10),
      baseVersion: null,
    });
    await box1.flush();
    box1.enqueue({
      uid: UID,
      itemId: 7,
      op: "delete",
      kind: "box",
      frame: 1,
      payload: box(10),
      baseVersion: 1,
    });
    await box1.flush();
    expect(server.current(UID)).toMatchObject({ version: 2, deleted: true });
  });

  it("drops a write the server rejects and says why", async () => {
    server.reject = 1;
    const box1 = outbox();
    const events: string[] = [];
    box1.subscribe((e) => e.type === "rejected" && events.push(e.reason));
    box1.enqueue({
      uid: UID,
      itemId: 7,
      op: "put",
      kind: "box",
      frame: 1,
      payload: box(10),
      baseVersion: null,
    });
    await box1.flush();
    expect(box1.size).toBe(0);
    expect(events[0]).toMatch(/400.*payload: label is required/);
  });
});
