/**
 * Time as the ingest path sees it: timers and a millisecond clock. Tests pass a mock clock
 * (clock-mock's `Clock` fits) and advance it instead of sleeping — lru-cache's `perf` option.
 */
export interface Clock {
  /** Milliseconds, monotonic enough for deadlines and rates. */
  now: () => number
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: any) => void
  setImmediate: (fn: () => void) => unknown
}

/** Real timers. They hold the process open, as a retry pause or a shutdown deadline must. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout (fn, ms) { return setTimeout(fn, ms) },
  clearTimeout (handle) { clearTimeout(handle) },
  setImmediate (fn) { return setImmediate(fn) }
}

/** Resolves after `ms` on the given clock. */
export function sleep (clock: Clock, ms: number): Promise<void> {
  return new Promise(resolve => { clock.setTimeout(resolve, ms) })
}

/** Lets a timer not hold the process open (a flush timer); a mock clock's handle may lack it. */
export function unref (handle: unknown): void {
  (handle as { unref?: () => void } | null)?.unref?.()
}
