/**
 * A small HTTP server that speaks the annotation endpoints of the workflow API exactly as
 * API.md defines them (versions, If-Match, 412, soft delete, history), for the client's unit
 * tests in Node. The Django implementation is exercised by the browser tests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface StoredVersion {
  uid: string;
  version: number;
  item: number;
  kind: string;
  frame: number;
  payload: unknown;
  deleted: boolean;
}

export class AnnotationServer {
  readonly versions: StoredVersion[] = [];
  /** Apply the next N writes but drop the connection instead of answering (a lost response). */
  loseAnswers = 0;
  /** Answer the next N writes with 400. */
  reject = 0;
  requests: string[] = [];
  /** Counted submits/skips per item, and the answer first given to each Idempotency-Key. */
  readonly reads = new Map<number, number>();
  readonly keyed = new Map<string, { status: number; body: unknown }>();
  /** Answer the next N submits/skips with 503 without applying them (a locked database). */
  unavailable = 0;
  private server: Server;
  private sockets = new Set<import("node:net").Socket>();

  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  async start(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  current(uid: string): StoredVersion | undefined {
    return this.versions.filter((v) => v.uid === uid).at(-1);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await new Promise<string>((resolve) => {
      let data = "";
      req.on("data", (c) => (data += c));
      req.on("end", () => resolve(data));
    });
    this.requests.push(`${req.method} ${req.url} ${req.headers["if-match"] ?? "-"}`);
    const send = (status: number, data: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(data));
    };
    const history = /^\/api\/v1\/annotations\/([\w-]+)\/history$/.exec(req.url ?? "");
    if (history && req.method === "GET") {
      const list = this.versions.filter((v) => v.uid === history[1]);
      return list.length ? send(200, list) : send(404, { detail: "Not found." });
    }
    const action = /^\/api\/v1\/items\/(\d+)\/(submit|skip)$/.exec(req.url ?? "");
    if (action && req.method === "POST") return this.act(req, res, Number(action[1]), action[2]);
    const m = /^\/api\/v1\/items\/(\d+)\/annotations\/([\w-]+)$/.exec(req.url ?? "");
    if (!m) return send(404, { detail: "Not found." });
    const [itemId, uid] = [Number(m[1]), m[2]];
    const latest = this.current(uid);
    const ifMatch = req.headers["if-match"];
    const expected = typeof ifMatch === "string" ? Number(ifMatch.replace(/"/g, "")) : null;
    if (this.reject > 0) {
      this.reject -= 1;
      return send(400, { payload: ["label is required"] });
    }
    if ((latest && expected !== latest.version) || (!latest && expected !== null)) {
      return send(412, { detail: "stale version" });
    }
    let stored: StoredVersion;
    if (req.method === "PUT") {
      const { kind, frame, payload } = JSON.parse(body) as {
        kind: string;
        frame: number;
        payload: unknown;
      };
      stored = {
        uid,
        version: (latest?.version ?? 0) + 1,
        item: itemId,
        kind,
        frame,
        payload,
        deleted: false,
      };
    } else if (req.method === "DELETE" && latest) {
      stored = { ...latest, version: latest.version + 1, deleted: true };
    } else return send(405, { detail: "method" });
    this.versions.push(stored);
    if (this.loseAnswers > 0) {
      this.loseAnswers -= 1;
      req.socket.destroy();
      return;
    }
    if (req.method === "DELETE") {
      res.writeHead(204);
      res.end();
      return;
    }
    send(latest ? 200 : 201, {
      ...stored,
      author: 1,
      source: "human",
      created_at: "",
      time_spent_ms: 0,
    });
  }

  /** Submit or skip as the Django view does it: a repeated Idempotency-Key gets the first answer. */
  private act(req: IncomingMessage, res: ServerResponse, itemId: number, what: string): void {
    const send = (status: number, data: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(data));
    };
    if (this.unavailable > 0) {
      this.unavailable -= 1;
      return send(503, { detail: "database is locked" });
    }
    const key = req.headers["idempotency-key"];
    const first = typeof key === "string" ? this.keyed.get(key) : undefined;
    if (first) return send(first.status, first.body);
    const reads = (this.reads.get(itemId) ?? 0) + 1;
    this.reads.set(itemId, reads);
    const answer =
      what === "submit"
        ? { status: 200, body: { item: itemId, reads_done: reads, counted: true } }
        : { status: 201, body: { item: itemId, reason: "unsure", note: "" } };
    if (typeof key === "string") this.keyed.set(key, answer);
    if (this.loseAnswers > 0) {
      this.loseAnswers -= 1;
      req.socket.destroy();
      return;
    }
    send(answer.status, answer.body);
  }
}

/** In-memory Web Storage, shared between "page loads" in a test like localStorage is. */
export class MemoryStorage {
  private data = new Map<string, string>();
  getItem(key: string): string | null {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.data.set(key, value);
  }
  removeItem(key: string): void {
    this.data.delete(key);
  }
}
