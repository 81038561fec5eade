/**
 * How fast the machine ran around a scenario's window. The host of this shared VM slows its vCPUs
 * for minutes at a time without reporting it as stolen time: the same no-op route took 32 µs of
 * CPU a request in one window and 57 µs minutes later, on the same day. A ratio of two scenarios
 * measured minutes apart can then be the host's, not the code's. So each window is bracketed by a
 * fixed piece of work on this process's thread — SHA-256 over a buffer, for PROBE_MS — and its
 * rate is the host's speed then. Ratios between two scenarios name the difference when it is large
 * (report/ratios.ts); the paired scenario, whose windows are seconds apart, needs none of this.
 */
import { createHash } from 'node:crypto'

export interface HostSpeed {
  /** MiB hashed a second, right before the measured window. */
  before: number
  /** And right after it. */
  after: number
}

// Long enough to span a few of the host's scheduling periods, short beside a 10-s window.
const PROBE_MS = 250
const CHUNK = Buffer.alloc(1 << 20, 7)

/** MiB of SHA-256 a second on this thread, over `ms` milliseconds. */
export function probeHostSpeed (ms = PROBE_MS): number {
  const started = performance.now()
  let hashed = 0
  let elapsed = 0
  do {
    createHash('sha256').update(CHUNK).digest()
    hashed++
    elapsed = performance.now() - started
  } while (elapsed < ms)
  return hashed / (elapsed / 1000)
}

/** The window's speed: the mean of the two probes around it. */
export function windowSpeed ({ before, after }: HostSpeed): number {
  return (before + after) / 2
}

export function formatHostSpeed ({ before, after }: HostSpeed): string {
  return `host speed (SHA-256 on the bench's thread, MiB/s): ${Math.round(before).toLocaleString('en')} before the window, ${Math.round(after).toLocaleString('en')} after`
}
