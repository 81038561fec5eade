/**
 * Latency percentiles from every sample, in milliseconds with their fractions: nearest rank, the
 * value below which p % of the samples fall. (autocannon's own histogram counts whole
 * milliseconds, too coarse for "light-load p50 within 2 ms of one commit".)
 */
export interface LatencySummary {
  count: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
}

/** The summary of `values`, or undefined when there are none. */
export function summarise (values: ArrayLike<number>): LatencySummary | undefined {
  if (values.length === 0) return undefined
  const sorted = Float64Array.from(values).sort()
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)]!
  let sum = 0
  for (const value of sorted) sum += value
  return { count: sorted.length, mean: sum / sorted.length, p50: at(50), p90: at(90), p99: at(99), max: sorted[sorted.length - 1]! }
}
