/**
 * The upload page's queue, without the DOM: each file (or zip) is one request with its own
 * Idempotency-Key, kept across retries, so a retry after a dropped connection never stores twice
 * and answers as the first attempt did (docs/decisions/0935). At most `concurrency` files are in
 * flight; a network error or a 5xx is retried after a wait, a 4xx is the server's answer.
 */
import { ApiError } from "../../api/http";
import { isRetryable, newRequestKey, RETRY_DELAYS_MS } from "../../api/keyedRetry";

export interface UploadResult {
  name: string;
  status: string; // stored | duplicate | conflict | rejected
  code: string;
  reason: string;
  sop_instance_uid: string;
  study_instance_uid: string;
  items_created: number;
}

export interface UploadAnswer {
  counts: Record<string, number>;
  results: UploadResult[];
  replayed?: boolean;
}

export type FileState = "queued" | "sending" | "retrying" | "done" | "failed";

export interface QueuedFile {
  id: number;
  file: Blob;
  /** Where it came from: the path inside a dropped folder, or the file name. */
  path: string;
  size: number;
  key: string;
  state: FileState;
  sent: number;
  attempts: number;
  results: UploadResult[];
  error: string;
}

export type Sender = (
  item: QueuedFile,
  onProgress: (sent: number) => void,
) => Promise<UploadAnswer>;

export interface QueueOptions {
  concurrency?: number;
  delaysMs?: number[];
  sleep?: (ms: number) => Promise<void>;
  /** Called after every change of any file (progress, state, results). */
  onChange?: () => void;
}

export const DEFAULT_CONCURRENCY = 3;

let nextId = 1;

export function queueFiles(picked: { file: Blob; path: string }[]): QueuedFile[] {
  return picked.map(({ file, path }) => ({
    id: nextId++,
    file,
    path,
    size: file.size,
    key: newRequestKey(),
    state: "queued",
    sent: 0,
    attempts: 0,
    results: [],
    error: "",
  }));
}

async function sendOne(item: QueuedFile, send: Sender, options: QueueOptions): Promise<void> {
  const delays = options.delaysMs ?? RETRY_DELAYS_MS;
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const changed = options.onChange ?? (() => undefined);
  for (let attempt = 0; ; attempt++) {
    item.state = "sending";
    item.sent = 0;
    item.attempts = attempt + 1;
    changed();
    try {
      const answer = await send(item, (sent) => {
        item.sent = Math.min(sent, item.size);
        changed();
      });
      item.results = answer.results;
      item.sent = item.size;
      item.state = "done";
      changed();
      return;
    } catch (err) {
      if (isRetryable(err) && attempt < delays.length) {
        item.state = "retrying";
        item.error = (err as Error).message;
        changed();
        await sleep(delays[attempt]);
        continue;
      }
      item.state = "failed";
      item.error = failure(err, attempt + 1);
      item.results = [
        {
          name: item.path,
          status: "rejected",
          code: err instanceof ApiError ? `http_${err.status}` : "network",
          reason: item.error,
          sop_instance_uid: "",
          study_instance_uid: "",
          items_created: 0,
        },
      ];
      changed();
      return;
    }
  }
}

function failure(err: unknown, attempts: number): string {
  if (err instanceof ApiError) {
    const details = err.details.join("; ");
    return details || err.message;
  }
  return `no answer after ${attempts} attempts: ${(err as Error).message}`;
}

/** Send every queued file, `concurrency` at a time; resolves when all are done or failed. */
export async function runQueue(
  items: QueuedFile[],
  send: Sender,
  options: QueueOptions = {},
): Promise<void> {
  const waiting = items.filter((i) => i.state === "queued" || i.state === "failed");
  for (const item of waiting) {
    item.state = "queued";
    item.error = "";
    item.results = [];
  }
  const workers = Array.from(
    { length: Math.min(options.concurrency ?? DEFAULT_CONCURRENCY, waiting.length) },
    async () => {
      for (let item = waiting.shift(); item; item = waiting.shift()) {
        await sendOne(item, send, options);
      }
    },
  );
  await Promise.all(workers);
}

export interface Totals {
  files: number;
  finished: number;
  bytes: number;
  sent: number;
  counts: Record<string, number>;
}

export function totals(items: QueuedFile[]): Totals {
  const counts: Record<string, number> = { stored: 0, duplicate: 0, conflict: 0, rejected: 0 };
  let bytes = 0;
  let sent = 0;
  let finished = 0;
  for (const item of items) {
    bytes += item.size;
    sent += item.sent;
    if (item.state === "done" || item.state === "failed") finished++;
    for (const r of item.results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  }
  return { files: items.length, finished, bytes, sent, counts };
}

// OWASP "CSV injection": a spreadsheet runs a cell starting with one of these as a formula; the
// same rule as the dataset exports (annotations/exports/formats/manifests.py).
const FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"];

export function neutraliseCell(value: string): string {
  return FORMULA_STARTS.some((s) => value.startsWith(s)) ? `'${value}` : value;
}

function csvCell(value: string | number): string {
  const text = typeof value === "number" ? String(value) : neutraliseCell(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const CSV_COLUMNS = [
  "file",
  "entry",
  "status",
  "code",
  "reason",
  "study_instance_uid",
  "sop_instance_uid",
  "items_created",
] as const;

/** One row per outcome (a zip gives one per entry), RFC 4180 with CRLF line ends. */
export function resultsCsv(items: QueuedFile[]): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const item of items) {
    for (const r of item.results) {
      const entry = r.name.includes("!") ? r.name.slice(r.name.indexOf("!") + 1) : "";
      lines.push(
        [
          item.path,
          entry,
          r.status,
          r.code,
          r.reason,
          r.study_instance_uid,
          r.sop_instance_uid,
          r.items_created,
        ]
          .map(csvCell)
          .join(","),
      );
    }
  }
  return lines.join("\r\n") + "\r\n";
}
