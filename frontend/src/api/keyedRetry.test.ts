import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { AnnotationServer } from "../test/annotationServer";
import { ApiClient } from "./client";
import { ApiError } from "./http";
import { sendKeyed } from "./keyedRetry";

let server: AnnotationServer;
let client: ApiClient;
const quick = { delaysMs: [1, 1, 1], sleep: () => Promise.resolve() };

beforeEach(async () => {
  server = new AnnotationServer();
  client = new ApiClient({ baseUrl: await server.start() });
});

afterEach(async () => {
  await server.stop().catch(() => undefined);
});

describe("submit and skip retried with one Idempotency-Key", () => {
  it("retries a submit whose answer was lost, and the server counts it once", async () => {
    server.loseAnswers = 1; // applied, then the connection drops: the client saw a network error
    const answer = await sendKeyed((key) => client.submit(7, 1500, key), quick);
    expect(answer).toMatchObject({ item: 7, reads_done: 1, counted: true });
    expect(server.requests.filter((r) => r.startsWith("POST /api/v1/items/7/submit"))).toHaveLength(
      2,
    );
    expect(server.reads.get(7)).toBe(1);
    expect(server.keyed.size).toBe(1);
  });

  it("retries a skip that got 5xx answers until the server takes it", async () => {
    server.unavailable = 2;
    await sendKeyed((key) => client.skip(9, "unsure", "", key), quick);
    expect(server.requests.filter((r) => r.startsWith("POST /api/v1/items/9/skip"))).toHaveLength(
      3,
    );
    expect(server.reads.get(9)).toBe(1);
  });

  it("sends the same key again when the whole action is sent again later", async () => {
    server.loseAnswers = 1;
    const key = "3f2b8c1e-0000-4000-8000-00000000abcd";
    await expect(
      sendKeyed((k) => client.submit(5, 10, k), { ...quick, delaysMs: [], key }),
    ).rejects.toThrow();
    await sendKeyed((k) => client.submit(5, 10, k), { ...quick, key }); // e.g. back online
    expect(server.reads.get(5)).toBe(1);
  });

  it("does not retry a 4xx: the server's answer stands", async () => {
    let attempts = 0;
    const refused = sendKeyed(() => {
      attempts += 1;
      return Promise.reject(new ApiError(409, { detail: "no saved answer" }, "409"));
    }, quick);
    await expect(refused).rejects.toBeInstanceOf(ApiError);
    expect(attempts).toBe(1);
  });

  it("gives up after the bounded attempts and reports the last error", async () => {
    server.unavailable = 10;
    await expect(sendKeyed((key) => client.submit(3, 10, key), quick)).rejects.toMatchObject({
      status: 503,
    });
    expect(server.requests).toHaveLength(4); // 3 waits: 4 attempts, then the doctor is told
    expect(server.reads.get(3)).toBeUndefined();
  });
});
