/**
 * The upload page's queue, without the DOM. Files go in batches (up to BATCH_FILES files and
 * BATCH_BYTES bytes per request: one request per small file cost more than the ingest itself,
 * decision 0935), each batch under its own Idempotency-Key kept across retries, so a retry after
 * a dropped connection never stores twice and answers as the first attempt did. At most
 * `concurrency` batches are in flight; a network error or a 5xx is retried after a wait, a 4xx
 * is the server's answer.
 */
import { ApiError } from "../../api/http";
import { isRetryable, newRequestKey, RETRY_DELAYS_MS } from "../../api/keyedRetry";

export interface UploadResult {
  /** Index, in its request, of the file this outcome came from (a zip gives several). */
  file?: number;
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
  state: FileState;
  sent: number;
  attempts: number;
  results: UploadResult[];
  error: string;
  /** The request it went in; kept after a failure so a retry sends the same files, same key. */
  batch: Batch | null;
}

export interface Batch {
  key: string;
  files: QueuedFile[];
}

export type Sender = (batch: Batch, onProgress: (sent: number) => void) => Promise<UploadAnswer>;

export interface QueueOptions {
  concurrency?: number;
  batchFiles?: number;
  batchBytes?: number;
  delaysMs?: number[];
  sleep?: (ms: number) => Promise<void>;
  /** Called after every change of any file (progress, state, results). */
  onChange?: () => void;
}

export const DEFAULT_CONCURRENCY = 3;
export const BATCH_FILES = 10;
export const BATCH_BYTES = 8 * 1024 * 1024;

let nextId = 1;

export function queueFiles(picked: { file: Blob; path: string }[]): QueuedFile[] {
  return picked.map(({ file, path }) => ({
    id: nextId++,
    file,
    path,
    size: file.size,
    state: "queued",
    sent: 0,
    attempts: 0,
    results: [],
    error: "",
    batch: null,
  }));
}

/** New batches for files never sent; a failed file goes again in the batch it failed in. */
export function makeBatches(
  items: QueuedFile[],
  maxFiles = BATCH_FILES,
  maxBytes = BATCH_BYTES,
): Batch[] {
  const out: Batch[] = [];
  const again = new Set<Batch>();
  let current: Batch | null = null;
  let bytes = 0;
  for (const item of items) {
    if (item.state === "failed" && item.batch) {
      again.add(item.batch);
      continue;
    }
    if (item.state !== "queued") continue;
    if (!current || current.files.length >= maxFiles || bytes + item.size > maxBytes) {
      current = { key: newRequestKey(), files: [] };
      bytes = 0;
      out.push(current);
    }
    current.files.push(item);
    item.batch = current;
    bytes += item.size;
  }
  return [...again, ...out];
}

function setAll(batch: Batch, patch: Partial<QueuedFile>): void {
  for (const item of batch.files) Object.assign(item, patch);
}

/** Upload progress of the whole request, shared out to its files in order. */
function spread(batch: Batch, sent: number): void {
  let offset = 0;
  for (const item of batch.files) {
    item.sent = Math.max(0, Math.min(item.size, sent - offset));
    offset += item.size;
  }
}

async function sendBatch(batch: Batch, send: Sender, options: QueueOptions): Promise<void> {
  const delays = options.delaysMs ?? RETRY_DELAYS_MS;
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const changed = options.onChange ?? (() => undefined);
  for (let attempt = 0; ; attempt++) {
    setAll(batch, { state: "sending", sent: 0, attempts: attempt + 1 });
    changed();
    try {
      const answer = await send(batch, (sent) => {
        spread(batch, sent);
        changed();
      });
      batch.files.forEach((item, index) => {
        item.results = answer.results.filter((r) => (r.file ?? 0) === index);
        item.sent = item.size;
        item.state = "done";
      });
      changed();
      return;
    } catch (err) {
      if (isRetryable(err) && attempt < delays.length) {
        setAll(batch, { state: "retrying", error: (err as Error).message });
        changed();
        await sleep(delays[attempt]);
        continue;
      }
      const error = failure(err, attempt + 1);
      for (const item of batch.files) {
        item.state = "failed";
        item.error = error;
        item.results = [
          {
            name: item.path,
            status: "rejected",
            code: err instanceof ApiError ? `http_${err.status}` : "network",
            reason: error,
            sop_instance_uid: "",
            study_instance_uid: "",
            items_created: 0,
          },
        ];
      }
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

/** Send every queued (or failed) file, `concurrency` requests at a time; resolves when all are
 * done or failed. */
export async function runQueue(
  items: QueuedFile[],
  send: Sender,
  options: QueueOptions = {},
): Promise<void> {
  const waiting = makeBatches(items, options.batchFiles, options.batchBytes);
  for (const batch of waiting) setAll(batch, { state: "queued", error: "", results: [] });
  const workers = Array.from(
    { length: Math.min(options.concurrency ?? DEFAULT_CONCURRENCY, waiting.length) },
    async () => {
      for (let batch = waiting.shift(); batch; batch = waiting.shift()) {
        await sendBatch(batch, send, options);
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
