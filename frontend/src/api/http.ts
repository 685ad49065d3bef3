/**
 * A small fetch wrapper: JSON in and out, Django's CSRF header on unsafe methods, and one error
 * type that says whether a retry can help (network failure) or not (the server said no).
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** Field errors of a DRF 400 as "field: message" lines. */
  get details(): string[] {
    if (!this.body || typeof this.body !== "object") return [];
    return Object.entries(this.body as Record<string, unknown>).map(
      ([field, value]) => `${field}: ${Array.isArray(value) ? value.join(" ") : String(value)}`,
    );
  }
}

/** The request never got an HTTP answer (offline, server down, aborted). Safe to retry. */
export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NetworkError";
  }
}

export interface HttpOptions {
  /** Origin to prefix relative paths with; "" in the browser (same origin). */
  baseUrl?: string;
  csrfToken?: string;
  /** `Authorization: Token KEY` for scripts and tests; the browser uses the session cookie. */
  token?: string;
  fetchImpl?: typeof fetch;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface JsonResponse<T> {
  status: number;
  data: T;
  headers: Headers;
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export class Http {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: HttpOptions = {}) {
    this.baseUrl = options.baseUrl ?? "";
    this.fetchImpl = options.fetchImpl ?? ((...args) => globalThis.fetch(...args));
  }

  url(path: string): string {
    return /^https?:/.test(path) ? path : `${this.baseUrl}${path}`;
  }

  async request<T>(path: string, opts: RequestOptions = {}): Promise<JsonResponse<T>> {
    const method = (opts.method ?? "GET").toUpperCase();
    const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (UNSAFE.has(method) && this.options.csrfToken) {
      headers["X-CSRFToken"] = this.options.csrfToken;
    }
    if (this.options.token) headers.Authorization = `Token ${this.options.token}`;
    let response: Response;
    try {
      response = await this.fetchImpl(this.url(path), {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        credentials: "same-origin",
        signal: opts.signal,
      });
    } catch (err) {
      throw new NetworkError(`${method} ${path}: ${(err as Error).message}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      // The connection broke after the headers: no usable answer, as if none came.
      throw new NetworkError(`${method} ${path}: ${(err as Error).message}`);
    }
    let data: unknown = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    if (!response.ok) {
      throw new ApiError(response.status, data, describe(method, path, response.status, data));
    }
    return { status: response.status, data: data as T, headers: response.headers };
  }

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return (await this.request<T>(path, { signal })).data;
  }

  async post<T>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return (await this.request<T>(path, { method: "POST", body: body ?? {}, headers })).data;
  }

  async patch<T>(path: string, body: unknown): Promise<T> {
    return (await this.request<T>(path, { method: "PATCH", body })).data;
  }

  /** A multipart upload (a file field): the browser sets the boundary, so no Content-Type. */
  async postForm<T>(path: string, form: FormData): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.options.csrfToken) headers["X-CSRFToken"] = this.options.csrfToken;
    if (this.options.token) headers.Authorization = `Token ${this.options.token}`;
    let response: Response;
    try {
      response = await this.fetchImpl(this.url(path), {
        method: "POST",
        headers,
        body: form,
        credentials: "same-origin",
      });
    } catch (err) {
      throw new NetworkError(`POST ${path}: ${(err as Error).message}`);
    }
    const text = await response.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    if (!response.ok) {
      throw new ApiError(response.status, data, describe("POST", path, response.status, data));
    }
    return data as T;
  }
}

function describe(method: string, path: string, status: number, data: unknown): string {
  const detail =
    data && typeof data === "object" && "detail" in data
      ? String((data as { detail: unknown }).detail)
      : "";
  return `${method} ${path} → ${status}${detail ? `: ${detail}` : ""}`;
}
