/**
 * How fast the buffer drains: events written per second over a sliding window. It turns a
 * 503's Retry-After from a constant into an estimate — the seconds the events ahead of a
 * client need to be written at the rate the database is taking them now.
 */
export class DrainRate {
  readonly #windowMs: number
  readonly #now: () => number
  readonly #samples: Array<{ at: number, rows: number }> = []
  #rows = 0

  constructor (windowMs = 5_000, now: () => number = Date.now) {
    this.#windowMs = windowMs
    this.#now = now
  }

  record (rows: number): void {
    this.#samples.push({ at: this.#now(), rows })
    this.#rows += rows
  }

  /** Events per second written over the window; 0 when nothing was written in it. */
  perSecond (): number {
    const since = this.#now() - this.#windowMs
    while (this.#samples.length > 0 && this.#samples[0]!.at < since) this.#rows -= this.#samples.shift()!.rows
    return this.#rows / (this.#windowMs / 1000)
  }

  /**
   * Seconds for `depth` events to drain at the measured rate, between `floor` and `ceiling`.
   * With nothing written lately (an outage, or a quiet start) the rate is unknown: `floor`.
   */
  retryAfter (depth: number, floor: number, ceiling = 60): number {
    const rate = this.perSecond()
    if (rate === 0) return floor
    return Math.min(ceiling, Math.max(floor, Math.ceil(depth / rate)))
  }
}
