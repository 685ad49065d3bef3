/**
 * Unsaved annotation writes, kept in localStorage until the server confirms them.
 *
 * Each entry is keyed by the annotation UID the client chose, so a retry after a reload or a
 * network failure sends the same UID again and can never duplicate a shape. Writes to the same
 * UID coalesce: only the newest payload matters, sent against the last version the server
 * confirmed (If-Match). A 412 means the server moved on (often: our own earlier write succeeded
 * but its answer was lost); the history tells which, and we either adopt it or re-send on top.
 */
import type { ApiClient } from "./client";
import { ApiError, NetworkError } from "./http";
import type { Annotation, AnnotationKind, AnyPayload, Provenance } from "./types";

export interface PendingWrite {
  uid: string;
  itemId: number;
  op: "put" | "delete";
  kind: AnnotationKind;
  frame: number;
  payload: AnyPayload;
  /** The server version this write supersedes; null = the annotation does not exist yet. */
  baseVersion: number | null;
  /** A mask that started from a model's suggestion (sent with the save). */
  provenance?: Provenance;
  attempts: number;
  lastError?: string;
}

/** The part of the Web Storage API we use (window.localStorage in the browser). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export type OutboxEvent =
  | { type: "saved"; uid: string; itemId: number; version: number; deleted: boolean }
  | { type: "rejected"; uid: string; itemId: number; reason: string }
  | { type: "offline"; reason: string }
  | { type: "changed"; pending: number };

export class Outbox {
  private entries = new Map<string, PendingWrite>();
  /** Bumped on every enqueue, so a write answered after a newer enqueue does not drop it. */
  private generation = new Map<string, number>();
  private listeners = new Set<(event: OutboxEvent) => void>();
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly client: ApiClient,
    private readonly storage: KeyValueStore,
    private readonly key: string,
  ) {
    for (const entry of this.read()) this.entries.set(entry.uid, entry);
  }

  subscribe(listener: (event: OutboxEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  pending(itemId?: number): PendingWrite[] {
    const all = [...this.entries.values()];
    return itemId === undefined ? all : all.filter((e) => e.itemId === itemId);
  }

  get size(): number {
    return this.entries.size;
  }

  enqueue(
    write: Omit<PendingWrite, "attempts" | "baseVersion"> & { baseVersion: number | null },
  ): void {
    const existing = this.entries.get(write.uid);
    // Keep the version the server last confirmed: the newest payload supersedes *that*.
    const baseVersion = existing ? existing.baseVersion : write.baseVersion;
    if (write.op === "delete" && baseVersion === null && !this.inFlight.has(write.uid)) {
      // Never reached the server: forgetting it is the whole deletion.
      this.entries.delete(write.uid);
    } else {
      this.entries.set(write.uid, { ...write, baseVersion, attempts: 0 });
    }
    this.generation.set(write.uid, (this.generation.get(write.uid) ?? 0) + 1);
    this.persist();
  }

  private inFlight = new Set<string>();

  /** Send everything pending, oldest first. Resolves when done or when the network fails. */
  flush(): Promise<void> {
    if (!this.flushing) {
      this.flushing = this.drain().finally(() => {
        this.flushing = null;
      });
    }
    return this.flushing;
  }

  /** Flush until nothing is pending for the item (writes queued meanwhile included). */
  async flushItem(itemId: number): Promise<boolean> {
    for (let round = 0; round < 5; round++) {
      await this.flush();
      const left = this.pending(itemId);
      if (!left.length) return true;
      if (left.some((e) => e.lastError?.startsWith("network"))) return false;
    }
    return this.pending(itemId).length === 0;
  }

  private async drain(): Promise<void> {
    for (;;) {
      const next = [...this.entries.values()].find((e) => !this.inFlight.has(e.uid));
      if (!next) return;
      const ok = await this.send(next);
      if (!ok) return;
    }
  }

  /** One write; false stops the drain (no network, or the session is gone). */
  private async send(entry: PendingWrite): Promise<boolean> {
    const generation = this.generation.get(entry.uid) ?? 0;
    this.inFlight.add(entry.uid);
    try {
      const result = await this.perform(entry);
      this.settle(entry, generation, result.version, result.deleted);
      return true;
    } catch (err) {
      if (err instanceof NetworkError) {
        this.mark(entry, `network: ${err.message}`);
        this.emit({ type: "offline", reason: err.message });
        return false;
      }
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        this.mark(entry, `auth: ${err.message}`);
        this.emit({ type: "offline", reason: "your session ended; log in again to save" });
        return false;
      }
      const reason =
        err instanceof ApiError ? [err.message, ...err.details].join("; ") : String(err);
      this.entries.delete(entry.uid);
      this.persist();
      this.emit({ type: "rejected", uid: entry.uid, itemId: entry.itemId, reason });
      return true;
    } finally {
      this.inFlight.delete(entry.uid);
    }
  }

  private async perform(entry: PendingWrite): Promise<{ version: number; deleted: boolean }> {
    try {
      return await this.attempt(entry, entry.baseVersion);
    } catch (err) {
      if (!(err instanceof ApiError) || ![409, 412, 428].includes(err.status)) throw err;
      const latest = await this.latest(entry.uid);
      if (latest && sameOutcome(entry, latest)) {
        return { version: latest.version, deleted: latest.deleted };
      }
      if (entry.op === "delete" && !latest) return { version: 0, deleted: true };
      // The doctor's newest intent wins over the version we missed; one retry on top of it.
      return await this.attempt(entry, latest ? latest.version : null);
    }
  }

  private async attempt(
    entry: PendingWrite,
    version: number | null,
  ): Promise<{ version: number; deleted: boolean }> {
    if (entry.op === "delete") {
      if (version === null) return { version: 0, deleted: true };
      await this.client.deleteAnnotation(entry.itemId, entry.uid, version);
      return { version: version + 1, deleted: true };
    }
    const saved: Annotation = await this.client.putAnnotation(
      entry.itemId,
      entry.uid,
      {
        kind: entry.kind,
        frame: entry.frame,
        payload: entry.payload,
        ...(entry.provenance ? { provenance: entry.provenance } : {}),
      },
      version,
    );
    return { version: saved.version, deleted: false };
  }

  private async latest(uid: string): Promise<Annotation | null> {
    try {
      const versions = await this.client.annotationHistory(uid);
      return versions.reduce<Annotation | null>(
        (a, b) => (!a || b.version > a.version ? b : a),
        null,
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }

  private settle(entry: PendingWrite, generation: number, version: number, deleted: boolean): void {
    const current = this.entries.get(entry.uid);
    if (current && (this.generation.get(entry.uid) ?? 0) === generation) {
      this.entries.delete(entry.uid);
    } else if (current) {
      // A newer edit arrived while this one was in flight: it now supersedes what we just wrote.
      current.baseVersion = version > 0 ? version : null;
    }
    this.persist();
    this.emit({ type: "saved", uid: entry.uid, itemId: entry.itemId, version, deleted });
  }

  private mark(entry: PendingWrite, error: string): void {
    const current = this.entries.get(entry.uid);
    if (current) {
      current.attempts += 1;
      current.lastError = error;
      this.persist();
    }
  }

  private read(): PendingWrite[] {
    try {
      const raw = this.storage.getItem(this.key);
      const parsed: unknown = raw ? JSON.parse(raw) : [];
      return Array.isArray(parsed) ? (parsed as PendingWrite[]) : [];
    } catch {
      return [];
    }
  }

  private persist(): void {
    const entries = [...this.entries.values()];
    if (entries.length) this.storage.setItem(this.key, JSON.stringify(entries));
    else this.storage.removeItem(this.key);
    this.emit({ type: "changed", pending: entries.length });
  }

  private emit(event: OutboxEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function sameOutcome(entry: PendingWrite, latest: Annotation): boolean {
  if (entry.op === "delete") return latest.deleted;
  return (
    !latest.deleted &&
    latest.kind === entry.kind &&
    latest.frame === entry.frame &&
    stableJson(latest.payload) === stableJson(entry.payload)
  );
}

/** JSON with sorted keys and integral floats as ints, so equal payloads compare equal. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([p], [q]) => (p < q ? -1 : 1)),
        )
      : v,
  );
}
