/**
 * When a request is worth sending again, and after how long: the same rule the server's answers
 * are built for (docs/api.md). Pure.
 */

/** Statuses that mean "nothing was stored, try again later": the event_ids make a retry safe. */
export function isRetryable (status: number): boolean {
  return status === 408 || status === 429 || status >= 500
}

export interface BackoffOptions {
  /** First pause, ms; doubles per attempt. */
  baseMs: number
  /** Longest pause, ms. */
  maxMs: number
}

/**
 * "Full jitter" exponential backoff (a random pause up to base × 2^attempt, capped), but never
 * less than the server's Retry-After: many clients refused together do not come back together,
 * and none comes back before the server said it could take them.
 */
export function retryDelay (attempt: number, retryAfterSeconds: number | undefined, { baseMs, maxMs }: BackoffOptions, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1))
  const jittered = random() * ceiling
  return Math.max(jittered, (retryAfterSeconds ?? 0) * 1000)
}

/** Retry-After as seconds: a number, or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter (header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds)
  const at = Date.parse(header)
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000)
}
