/**
 * Every latency sample of a window, for exact percentiles (harness/percentiles.ts): a growable
 * list of floats without an array of boxed numbers — a window holds hundreds of thousands.
 */
import { summarise, type LatencySummary } from '../../../harness/percentiles.js'

export type { LatencySummary }

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

  /** p50, p90, p99, max and mean of every sample, or undefined when empty. */
  summary (): LatencySummary | undefined {
    return summarise(this.#values.subarray(0, this.#length))
  }
}
