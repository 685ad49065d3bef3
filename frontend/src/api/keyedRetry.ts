/**
 * Submit and skip, retried when no usable answer came: a network error, or a 5xx (a database
 * lock held past its timeout, a restarting server). One Idempotency-Key per action, sent with
 * every attempt, so the server counts the action once however many attempts reached it
 * (docs/decisions/0141). A 4xx is the server's answer and is never retried.
 */
import { ApiError, NetworkError } from "./http";

/** Waits between attempts: about 15 s in all, then the error goes to the doctor. */
export const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000, 8000];

export function isRetryable(err: unknown): boolean {
  return err instanceof NetworkError || (err instanceof ApiError && err.status >= 500);
}

export function newRequestKey(): string {
  return crypto.randomUUID();
}

export async function sendKeyed<T>(
  send: (requestKey: string) => Promise<T>,
  options: { delaysMs?: number[]; key?: string; sleep?: (ms: number) => Promise<void> } = {},
): Promise<T> {
  const key = options.key ?? newRequestKey();
  const delays = options.delaysMs ?? RETRY_DELAYS_MS;
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (const delay of delays) {
    try {
      return await send(key);
    } catch (err) {
      if (!isRetryable(err)) throw err;
      await sleep(delay);
    }
  }
  return send(key);
}
