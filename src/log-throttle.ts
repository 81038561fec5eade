/**
 * Keeps an outage from flooding the log: the first of a run of similar events is logged at
 * once, then at most one line per interval, carrying how many were folded into it.
 */
export class LogThrottle {
  readonly #intervalMs: number
  readonly #now: () => number
  readonly #runs = new Map<string, { loggedAt: number, folded: number }>()

  constructor (intervalMs: number, now: () => number = Date.now) {
    this.#intervalMs = intervalMs
    this.#now = now
  }

  /**
   * Call once per event. Returns the number of events folded since the last line when this
   * one should be logged, or undefined when it should be counted silently.
   */
  take (key: string): number | undefined {
    const now = this.#now()
    const run = this.#runs.get(key)
    if (run === undefined || now - run.loggedAt >= this.#intervalMs) {
      const folded = run?.folded ?? 0
      this.#runs.set(key, { loggedAt: now, folded: 0 })
      return folded
    }
    run.folded++
    return undefined
  }
}
