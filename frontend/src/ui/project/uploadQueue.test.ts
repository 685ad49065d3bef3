import { describe, expect, it } from "vitest";

import { ApiError, NetworkError } from "../../api/http";
import { attachRequests, emptyChoice } from "./archiveSearch";
import {
  neutraliseCell,
  queueFiles,
  resultsCsv,
  runQueue,
  totals,
  type QueuedFile,
  type Sender,
  type UploadResult,
} from "./uploadQueue";

const quick = { delaysMs: [1, 1, 1], sleep: () => Promise.resolve() };

function result(name: string, status: string, reason = ""): UploadResult {
  return {
    name,
    status,
    code: status === "rejected" ? "not_dicom" : "",
    reason,
    sop_instance_uid: "",
    study_instance_uid: "",
    items_created: status === "stored" ? 1 : 0,
  };
}

function picked(n: number): QueuedFile[] {
  return queueFiles(
    Array.from({ length: n }, (_, i) => ({ file: new Blob([`file ${i}`]), path: `d/${i}.dcm` })),
  );
}

describe("the upload queue", () => {
  it("keeps at most `concurrency` requests in flight and sends every file once", async () => {
    const items = picked(7);
    let inFlight = 0;
    let most = 0;
    const sent: string[] = [];
    const send: Sender = async (batch) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      sent.push(...batch.files.map((f) => f.path));
      return {
        counts: {},
        results: batch.files.map((f, i) => ({ ...result(f.path, "stored"), file: i })),
      };
    };
    await runQueue(items, send, { concurrency: 3, batchFiles: 1, ...quick });
    expect(most).toBe(3);
    expect(sent.sort()).toEqual(items.map((i) => i.path).sort());
    expect(totals(items)).toMatchObject({ files: 7, finished: 7, counts: { stored: 7 } });
  });

  it("batches small files and maps each answer back to its file, a zip's entries too", async () => {
    const items = picked(5);
    const requests: string[][] = [];
    const send: Sender = (batch) => {
      requests.push(batch.files.map((f) => f.path));
      const results = batch.files.flatMap((f, i) =>
        f.path === "d/1.dcm"
          ? [
              { ...result(`${f.path}!a.dcm`, "stored"), file: i },
              { ...result(`${f.path}!b.dcm`, "rejected", "cut"), file: i },
            ]
          : [{ ...result(f.path, "duplicate"), file: i }],
      );
      return Promise.resolve({ counts: {}, results });
    };
    await runQueue(items, send, { batchFiles: 2, ...quick });
    expect(requests).toEqual([["d/0.dcm", "d/1.dcm"], ["d/2.dcm", "d/3.dcm"], ["d/4.dcm"]]);
    expect(items[1].results.map((r) => r.status)).toEqual(["stored", "rejected"]);
    expect(items[0].results.map((r) => r.name)).toEqual(["d/0.dcm"]);
    expect(items.every((i) => i.state === "done" && i.sent === i.size)).toBe(true);
  });

  it("closes a batch before it would pass the byte limit", async () => {
    const items = picked(3);
    const sizes: number[] = [];
    const send: Sender = (batch) => {
      sizes.push(batch.files.length);
      return Promise.resolve({ counts: {}, results: [] });
    };
    await runQueue(items, send, { batchBytes: items[0].size * 2, ...quick });
    expect(sizes).toEqual([2, 1]);
  });

  it("retries a dropped connection with the same Idempotency-Key", async () => {
    const [item] = picked(1);
    const keys: string[] = [];
    const send: Sender = (batch) => {
      keys.push(batch.key);
      if (keys.length === 1) return Promise.reject(new NetworkError("connection lost"));
      return Promise.resolve({
        counts: {},
        results: [{ ...result(item.path, "stored"), file: 0 }],
        replayed: true,
      });
    };
    await runQueue([item], send, quick);
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(1);
    expect(item.state).toBe("done");
    expect(item.attempts).toBe(2);
  });

  it("does not retry the server's refusal and records its reason", async () => {
    const [item] = picked(1);
    let calls = 0;
    const send: Sender = () => {
      calls++;
      return Promise.reject(new ApiError(403, { detail: "x" }, "POST → 403: only admins"));
    };
    await runQueue([item], send, quick);
    expect(calls).toBe(1);
    expect(item.state).toBe("failed");
    expect(item.results[0]).toMatchObject({ status: "rejected", code: "http_403" });
  });

  it("gives up after the last wait and says how many attempts it made", async () => {
    const [item] = picked(1);
    await runQueue([item], () => Promise.reject(new NetworkError("offline")), quick);
    expect(item.state).toBe("failed");
    expect(item.attempts).toBe(4);
    expect(item.error).toContain("4 attempts");
  });

  it("sends a failed batch again with its files and its key", async () => {
    const items = picked(2);
    const keys: string[] = [];
    let fail = true;
    const send: Sender = (batch) => {
      keys.push(batch.key);
      if (fail) return Promise.reject(new NetworkError("offline"));
      return Promise.resolve({ counts: {}, results: [] });
    };
    await runQueue(items, send, { delaysMs: [], sleep: quick.sleep });
    expect(items.map((i) => i.state)).toEqual(["failed", "failed"]);
    fail = false;
    await runQueue(items, send, quick);
    expect(items.map((i) => i.state)).toEqual(["done", "done"]);
    expect(new Set(keys).size).toBe(1);
  });
});

describe("the results CSV", () => {
  it("has one row per outcome and neutralises formula cells", () => {
    const [a, b] = picked(2);
    a.results = [result(a.path, "stored")];
    b.path = "=HYPERLINK(x).zip";
    b.results = [
      result(`${b.path}!ok.dcm`, "duplicate"),
      result(`${b.path}!bad.dcm`, "rejected", 'not a DICOM file, "really"'),
    ];
    const lines = resultsCsv([a, b]).trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      "file,entry,status,code,reason,study_instance_uid,sop_instance_uid,items_created",
    );
    expect(lines).toHaveLength(4);
    expect(lines[1]).toBe("d/0.dcm,,stored,,,,,1");
    expect(lines[2].startsWith("'=HYPERLINK(x).zip,ok.dcm,duplicate")).toBe(true);
    expect(lines[3]).toContain('"not a DICOM file, ""really"""');
    expect(neutraliseCell("+1")).toBe("'+1");
    expect(neutraliseCell("@SUM")).toBe("'@SUM");
    expect(neutraliseCell("plain")).toBe("plain");
  });
});

describe("attach requests from a choice", () => {
  it("sends each chosen thing once, at the coarsest level chosen", () => {
    const choice = emptyChoice();
    choice.studies.add("st1");
    choice.series.set("se1", "st1"); // inside a chosen study: covered
    choice.series.set("se2", "st2");
    choice.instances.set("sop1", "se2"); // inside a chosen series: covered
    choice.instances.set("sop2", "se3");
    expect(attachRequests(choice)).toEqual([
      { study_uids: ["st1"] },
      { series_uids: ["se2"] },
      { sop_instance_uids: ["sop2"] },
    ]);
    expect(attachRequests(emptyChoice())).toEqual([]);
  });
});
