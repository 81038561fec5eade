/**
 * Time as the ingest path sees it: timers and a millisecond clock. Tests pass a mock clock
 * (clock-mock's `Clock` fits) and advance it instead of sleeping — lru-cache's `perf` option.
 * Below them, the real wall clock and monotonic clock, and the way from one to the other.
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

/**
 * A wall-clock time (Date.now(): a receipt another process stamped) on this process's monotonic
 * clock (performance.now()), through both clocks read now. Going through performance.timeOrigin
 * instead would fix their offset at start-up: every conversion after a wall-clock step (NTP, a
 * virtual machine's clock set after a pause) would carry the step, and start-up itself leaves a
 * millisecond or two between the two readings it takes.
 */
export function wallToMonotonic (wallMs: number): number {
  return performance.now() - (Date.now() - wallMs)
}

/** This process's monotonic clock's offset to the wall clock, read now: monotonic + offset = wall. */
export function wallClockOffset (): number {
  return Date.now() - performance.now()
}
