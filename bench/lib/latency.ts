/**
 * Latency percentiles from every sample, in milliseconds with their fractions. autocannon's own
 * histogram counts whole milliseconds, too coarse for "light-load p50 within 2 ms of one commit".
 */
export interface LatencySummary {
  count: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
}

/** A growable list of float samples without an array of boxed numbers. */
export class Samples {
  #values = new Float64Array(1 << 16)
  #length = 0

  get length (): number {
    return this.#length
  }

  push (value: number): void {
    if (this.#length === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2)
      grown.set(this.#values)
      this.#values = grown
    }
    this.#values[this.#length++] = value
  }

  /** Nearest-rank percentiles (the value below which p % of samples fall), or undefined when empty. */
  summary (): LatencySummary | undefined {
    if (this.#length === 0) return undefined
    const sorted = this.#values.slice(0, this.#length).sort()
    const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))]!
    let sum = 0
    for (const value of sorted) sum += value
    return { count: sorted.length, mean: sum / sorted.length, p50: at(50), p90: at(90), p99: at(99), max: sorted[sorted.length - 1]! }
  }
}
