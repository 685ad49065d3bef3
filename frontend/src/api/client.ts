/**
 * Typed calls to the workflow and studies REST API (/api/v1/). One function per endpoint;
 * no UI state here, so the same client drives the workspace, the scripts and the unit tests.
 */
import { Http, type HttpOptions } from "./http";
import type {
  Annotation,
  AnnotationKind,
  AnyPayload,
  ItemComment,
  ItemPayload,
  Me,
  Paginated,
  Project,
  QueueNext,
  ReviewBody,
  ReviewItem,
  ReviewResult,
  SkipReason,
  StudySummary,
  Suggestion,
  Provenance,
} from "./types";

export interface StudySearch {
  search?: string;
  modality?: string;
  patient_id?: string;
  date_from?: string;
  date_to?: string;
  page?: number;
}

export class ApiClient {
  readonly http: Http;

  constructor(options: HttpOptions = {}) {
    this.http = new Http(options);
  }

  me(): Promise<Me> {
    return this.http.get("/api/v1/me");
  }

  async projects(): Promise<Project[]> {
    return unpage(await this.http.get<Project[] | Paginated<Project>>("/api/v1/projects/"));
  }

  project(id: number): Promise<Project> {
    return this.http.get(`/api/v1/projects/${id}/`);
  }

  /** Lease up to `count` items; leases the caller already holds come first, in order. */
  queueNext(projectId: number, count: number): Promise<QueueNext> {
    return this.http.post(`/api/v1/projects/${projectId}/queue/next`, { count });
  }

  item(id: number): Promise<ItemPayload> {
    return this.http.get(`/api/v1/items/${id}/`);
  }

  /**
   * Create (no version) or supersede (version = the one we last saw, sent as If-Match) one
   * annotation. The UID is chosen by the client, so a retry after a lost answer cannot duplicate.
   */
  async putAnnotation(
    itemId: number,
    uid: string,
    body: { kind: AnnotationKind; frame: number; payload: AnyPayload; provenance?: Provenance },
    version: number | null,
  ): Promise<Annotation> {
    const headers: Record<string, string> = {};
    if (version !== null) headers["If-Match"] = `"${version}"`;
    const res = await this.http.request<Annotation>(`/api/v1/items/${itemId}/annotations/${uid}`, {
      method: "PUT",
      body,
      headers,
    });
    return res.data;
  }

  async deleteAnnotation(itemId: number, uid: string, version: number): Promise<void> {
    await this.http.request(`/api/v1/items/${itemId}/annotations/${uid}`, {
      method: "DELETE",
      headers: { "If-Match": `"${version}"` },
    });
  }

  annotationHistory(uid: string): Promise<Annotation[]> {
    return this.http
      .get<Annotation[] | Paginated<Annotation>>(`/api/v1/annotations/${uid}/history`)
      .then(unpage);
  }

  /** `requestKey`: the Idempotency-Key; a retry sends the same one and never counts twice. */
  submit(itemId: number, timeSpentMs: number, requestKey?: string): Promise<unknown> {
    return this.http.post(
      `/api/v1/items/${itemId}/submit`,
      { time_spent_ms: Math.max(0, Math.round(timeSpentMs)) },
      keyed(requestKey),
    );
  }

  skip(itemId: number, reason: SkipReason, note = "", requestKey?: string): Promise<unknown> {
    return this.http.post(`/api/v1/items/${itemId}/skip`, { reason, note }, keyed(requestKey));
  }

  suggestion(itemId: number): Promise<Suggestion> {
    return this.http.get(`/api/v1/items/${itemId}/suggestion`);
  }

  studies(query: StudySearch = {}): Promise<Paginated<StudySummary>> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== "") params.set(key, String(value));
    }
    const qs = params.toString();
    return this.http
      .get<Paginated<StudySummary> | StudySummary[]>(`/api/v1/studies/${qs ? `?${qs}` : ""}`)
      .then(asPage);
  }

  /** Items to adjudicate ("pending"), adjudicated ones ("reviewed") or both ("all"). */
  async reviewQueue(
    projectId: number,
    state: "pending" | "reviewed" | "all" = "pending",
  ): Promise<ReviewItem[]> {
    return unpage(
      await this.http.get<ReviewItem[] | Paginated<ReviewItem>>(
        `/api/v1/projects/${projectId}/review/?state=${state}&limit=200`,
      ),
    );
  }

  /**
   * Adjudicate an item: accept a reader's answer or send the reviewer's own. `version` is the
   * adjudication the reviewer saw (If-Match; null when none): a newer one answers 412.
   */
  review(itemId: number, body: ReviewBody, version: number | null): Promise<ReviewResult> {
    const headers = version !== null ? { "If-Match": `"${version}"` } : undefined;
    return this.http.post(`/api/v1/items/${itemId}/review`, body, headers);
  }

  /** Ask for a review of the item (any member); the note becomes a comment. */
  flag(itemId: number, note: string): Promise<{ review_state: string; review_reason: string }> {
    return this.http.post(`/api/v1/items/${itemId}/flag`, { note });
  }

  async comments(itemId: number): Promise<ItemComment[]> {
    return unpage(
      await this.http.get<ItemComment[] | Paginated<ItemComment>>(
        `/api/v1/items/${itemId}/comments`,
      ),
    );
  }

  addComment(itemId: number, text: string): Promise<ItemComment> {
    return this.http.post(`/api/v1/items/${itemId}/comments`, { text });
  }

  async myHistory(projectId?: number): Promise<Record<string, unknown>[]> {
    const qs = projectId ? `?project=${projectId}` : "";
    return unpage(
      await this.http.get<Record<string, unknown>[] | Paginated<Record<string, unknown>>>(
        `/api/v1/me/history${qs}`,
      ),
    );
  }
}

/** DRF list endpoints may or may not paginate; the UI wants the rows either way. */
export function unpage<T>(data: T[] | Paginated<T>): T[] {
  return Array.isArray(data) ? data : data.results;
}

function asPage<T>(data: T[] | Paginated<T>): Paginated<T> {
  return Array.isArray(data)
    ? { count: data.length, next: null, previous: null, results: data }
    : data;
}

function keyed(requestKey: string | undefined): Record<string, string> | undefined {
  return requestKey ? { "Idempotency-Key": requestKey } : undefined;
}
