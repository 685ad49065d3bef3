/**
 * The doctor's loop, without any UI: lease the next items, show one while the following one is
 * prefetched, submit or skip in the background, and keep going when a lease runs out.
 *
 * Enter → the next image appears from the cache at once; the submit, the flush of unsaved
 * annotations and the refill of the queue run one after another behind it (a promise chain),
 * so their order on the server is always: annotations, submit, then the next lease request.
 */
import type { ApiClient } from "../api/client";
import { ApiError, NetworkError } from "../api/http";
import { newRequestKey, sendKeyed } from "../api/keyedRetry";
import type { Outbox } from "../api/outbox";
import type { ItemPayload, QueueNext, SkipReason } from "../api/types";
import { AnnotationDocument } from "../viewer/annotationDocument";
import { preloadImages, prepareInstance, type PreparedStack } from "../viewer/itemLoader";
import type { StackViewer } from "../viewer/stackViewer";
import { noteRendered, recordTiming } from "../viewer/testHook";
import { afterSubmit } from "./remainingCount";

export type Phase = "starting" | "loading" | "ready" | "done" | "error";

export interface Notice {
  kind: "info" | "warn" | "error";
  text: string;
}

export interface LoopState {
  phase: Phase;
  item: ItemPayload | null;
  stack: PreparedStack | null;
  doc: AnnotationDocument | null;
  progress: QueueNext["progress"] | null;
  sessionCount: number;
  notice: Notice | null;
  leaseExpired: boolean;
  nextReady: boolean;
}

export interface LoopOptions {
  /** Lease two items and preload the second (the default); off for the benchmark's baseline. */
  prefetch: boolean;
}

export class LabellingLoop {
  private state: LoopState = {
    phase: "starting",
    item: null,
    stack: null,
    doc: null,
    progress: null,
    sessionCount: 0,
    notice: null,
    leaseExpired: false,
    nextReady: false,
  };
  private next: ItemPayload | null = null;
  private chain: Promise<void> = Promise.resolve();
  private shownAt = 0;
  private pendingTiming: {
    itemId: number;
    enterAt: number;
    prefetched: boolean;
    imageId: string;
  } | null = null;
  private leaseTimer: number | undefined;
  private disposed = false;
  private busy = false;
  private stopViewer: () => void;
  private finished = new Set<number>();
  /** Submits/skips waiting for their annotations to reach the server (offline meanwhile). */
  private deferred = new Map<number, () => void>();
  private stopOutbox: () => void;

  constructor(
    private readonly client: ApiClient,
    private readonly projectId: number,
    private readonly outbox: Outbox,
    private readonly viewer: StackViewer,
    private readonly options: LoopOptions,
    private readonly onChange: (state: LoopState) => void,
  ) {
    this.stopViewer = viewer.subscribe((event, detail) => {
      if (event !== "rendered") return;
      noteRendered();
      const t = this.pendingTiming;
      if (t && detail === t.imageId) {
        recordTiming({
          itemId: t.itemId,
          enterAt: t.enterAt,
          drawnAt: performance.now(),
          prefetched: t.prefetched,
        });
        this.pendingTiming = null;
      }
    });
    this.stopOutbox = outbox.subscribe((event) => {
      if (event.type !== "saved" || outbox.pending(event.itemId).length) return;
      const resume = this.deferred.get(event.itemId);
      if (resume) {
        this.deferred.delete(event.itemId);
        resume();
      }
    });
  }

  get snapshot(): LoopState {
    return this.state;
  }

  private set(patch: Partial<LoopState>): void {
    if (this.disposed) return;
    this.state = { ...this.state, ...patch };
    this.onChange(this.state);
  }

  notify(notice: Notice | null): void {
    this.set({ notice });
  }

  private get count(): number {
    return this.options.prefetch ? 2 : 1;
  }

  /** `early`: the first lease request, when the page sent it before the viewer was ready. */
  async start(early?: Promise<QueueNext>): Promise<void> {
    try {
      const answer = await (early ?? this.client.queueNext(this.projectId, this.count));
      this.set({ progress: answer.progress });
      if (!answer.items.length) {
        this.set({ phase: "done" });
        return;
      }
      this.next = answer.items[1] ?? null;
      await this.show(answer.items[0], null, false);
    } catch (err) {
      this.set({ phase: "error", notice: { kind: "error", text: describe(err) } });
    }
  }

  /** Enter: submit what is on screen and move on. */
  async submit(): Promise<void> {
    const { item, doc, phase } = this.state;
    if (!item || !doc || phase !== "ready" || this.busy) return;
    if (doc.isEmpty) {
      this.notify({ kind: "warn", text: "Add an answer first (number keys), or press S to skip." });
      return;
    }
    const spent = performance.now() - this.shownAt;
    // One key for this Enter, however often it is sent (retries, or later when back online):
    // the server counts it once.
    const key = newRequestKey();
    const submit = () =>
      sendKeyed((k) => this.client.submit(item.id, spent, k), { key }).then(() => undefined);
    await this.leave(item, doc, submit, "submit");
  }

  async skip(reason: SkipReason): Promise<void> {
    const { item, doc, phase } = this.state;
    if (!item || !doc || phase !== "ready" || this.busy) return;
    const key = newRequestKey();
    const skip = () =>
      sendKeyed((k) => this.client.skip(item.id, reason, "", k), { key }).then(() => undefined);
    await this.leave(item, doc, skip, "skip");
  }

  private async leave(
    item: ItemPayload,
    doc: AnnotationDocument,
    send: () => Promise<void>,
    what: "submit" | "skip",
  ): Promise<void> {
    this.busy = true;
    const enterAt = performance.now();
    this.finished.add(item.id);
    window.clearTimeout(this.leaseTimer);
    this.chain = this.chain.then(() => this.finish(item, doc, send, what));
    try {
      const upcoming = this.next;
      this.next = null;
      if (upcoming) {
        // The next item is leased and (normally) already in the cache: show it now.
        await this.show(upcoming, enterAt, this.state.nextReady);
        this.chain = this.chain.then(() => this.refill());
      } else {
        this.set({ phase: "loading" });
        await this.chain;
        const answer = await this.client.queueNext(this.projectId, this.count);
        this.set({ progress: answer.progress });
        const fresh = answer.items.filter((i) => !this.finished.has(i.id));
        this.next = fresh[1] ?? null;
        if (fresh[0]) await this.show(fresh[0], enterAt, false);
        else this.set({ phase: "done", item: null, doc: null, stack: null });
      }
    } catch (err) {
      this.set({ phase: "error", notice: { kind: "error", text: describe(err) } });
    } finally {
      this.busy = false;
    }
  }

  private async finish(
    item: ItemPayload,
    doc: AnnotationDocument,
    send: () => Promise<void>,
    what: string,
  ): Promise<void> {
    try {
      const saved = await this.outbox.flushItem(item.id);
      if (!saved) {
        this.notify({
          kind: "warn",
          text: `Item ${item.id}: annotations kept on this computer, will be sent when the server answers.`,
        });
        this.deferred.set(item.id, () => {
          this.chain = this.chain.then(() => this.finish(item, doc, send, what));
        });
        return;
      }
      await send();
      if (what === "submit") {
        this.set({
          sessionCount: this.state.sessionCount + 1,
          progress: this.state.progress && {
            submitted_by_me: this.state.progress.submitted_by_me + 1,
            remaining: afterSubmit(this.state.progress.remaining),
          },
        });
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 410) {
        this.notify({
          kind: "warn",
          text: `Item ${item.id}: your lease had expired and another reader took it; your annotations were kept.`,
        });
      } else if (err instanceof ApiError && err.status === 409) {
        this.notify({
          kind: "warn",
          text: `Item ${item.id} was not submitted: the server has no saved answer for it.`,
        });
      } else {
        this.notify({ kind: "error", text: `Item ${item.id}: ${what} failed (${describe(err)}).` });
      }
    }
    doc.dispose();
  }

  /** After a submit: lease again; the item on screen comes first, the one after is prefetched. */
  private async refill(): Promise<void> {
    try {
      // Retried like a submit: a lost lease answer would leave nothing to prefetch, and the next
      // Enter would wait for the network. Asking again is safe: held leases come back first.
      const answer = await sendKeyed(() => this.client.queueNext(this.projectId, this.count));
      this.set({ progress: answer.progress });
      const current = this.state.item?.id;
      this.next = answer.items.find((i) => i.id !== current && !this.finished.has(i.id)) ?? null;
      this.set({ nextReady: false });
      if (this.next) void this.prefetch(this.next);
    } catch (err) {
      this.notify({ kind: "warn", text: `Could not fetch the next item yet (${describe(err)}).` });
    }
  }

  private async prefetch(item: ItemPayload): Promise<void> {
    if (!this.options.prefetch) return;
    try {
      const stack = await prepareInstance(item.instance);
      await preloadImages(stack.imageIds, item.frame - 1, 1);
      if (this.next?.id === item.id) this.set({ nextReady: true });
    } catch {
      // Prefetch is an optimisation; the item loads normally when shown.
    }
  }

  private async show(
    item: ItemPayload,
    enterAt: number | null,
    prefetched: boolean,
  ): Promise<void> {
    this.set({ phase: "loading", notice: null, leaseExpired: false });
    const stack = await prepareInstance(item.instance);
    const doc = new AnnotationDocument(item.id, this.outbox);
    doc.load(item.annotations);
    const index = Math.min(stack.imageIds.length - 1, Math.max(0, item.frame - 1));
    if (enterAt !== null) {
      this.pendingTiming = { itemId: item.id, enterAt, prefetched, imageId: stack.imageIds[index] };
    }
    let failure: string | null = null;
    try {
      await this.viewer.show(stack.imageIds, index);
    } catch (err) {
      // Still the doctor's item: say why it is blank and let them skip it (S).
      failure = `${describe(err)}. Press S to skip it.`;
      this.pendingTiming = null;
    }
    this.shownAt = performance.now();
    this.set({
      phase: "ready",
      item,
      stack,
      doc,
      nextReady: false,
      notice: failure ? { kind: "error", text: failure } : null,
    });
    this.watchLease(item);
    if (this.next && this.options.prefetch) void this.prefetch(this.next);
    void this.outbox.flush();
  }

  private watchLease(item: ItemPayload): void {
    window.clearTimeout(this.leaseTimer);
    if (!item.lease) return;
    const ms = Date.parse(item.lease.expires_at) - Date.now();
    this.leaseTimer = window.setTimeout(() => void this.onLeaseExpired(item), Math.max(0, ms));
  }

  /** The lease ran out while the doctor was still on the item: try to get it back. */
  private async onLeaseExpired(item: ItemPayload): Promise<void> {
    if (this.state.item?.id !== item.id) return;
    this.set({
      leaseExpired: true,
      notice: {
        kind: "warn",
        text: "Your lease on this image expired. Your work is saved; renewing…",
      },
    });
    try {
      const answer = await this.client.queueNext(this.projectId, 1);
      const again = answer.items.find((i) => i.id === item.id);
      if (again?.lease) {
        this.state.item = { ...item, lease: again.lease };
        this.set({ leaseExpired: false, notice: { kind: "info", text: "Lease renewed." } });
        this.watchLease(this.state.item);
      } else {
        if (answer.items[0] && !this.next) {
          this.next = answer.items[0];
          void this.prefetch(this.next);
        }
        this.notify({
          kind: "warn",
          text: "Your lease expired and another reader may take this image; submitting may be refused, your annotations are kept either way.",
        });
      }
    } catch (err) {
      this.notify({ kind: "warn", text: `Lease expired; could not renew (${describe(err)}).` });
    }
  }

  dispose(): void {
    this.disposed = true;
    window.clearTimeout(this.leaseTimer);
    this.stopViewer();
    this.stopOutbox();
    this.state.doc?.dispose();
  }
}

export function describe(err: unknown): string {
  if (err instanceof NetworkError) return "the server cannot be reached";
  if (err instanceof ApiError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
