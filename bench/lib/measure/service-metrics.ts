/**
 * The service's own account of a measured window, from /metrics before and after it: how many
 * flushes, how full, how long, and why they were triggered. It says what the client cannot see —
 * whether batches formed, and how long a transaction took.
 */
import { metricTotal, type MetricSamples } from '../../../harness/prometheus-text.js'

export interface WindowMetrics {
  flushes: number
  /** By trigger: size, time, idle, close. */
  flushesByTrigger: Record<string, number>
  flushErrors: number
  meanRowsPerFlush?: number
  meanFlushMs?: number
  /** Receipt of an event to the commit of its batch, mean over the window. */
  meanCommitLatencyMs?: number
  /**
   * Its 99th percentile, as the upper bound of the histogram bucket it falls in. In stream mode
   * this is the end-to-end latency: receipt at the door, through JetStream, to the writer's commit.
   */
  p99CommitLatencyMs?: number
  committed: number
  rejected: number
}

export function windowMetrics (before: MetricSamples, after: MetricSamples): WindowMetrics {
  const delta = (name: string): number => (metricTotal(after, name) ?? 0) - (metricTotal(before, name) ?? 0)
  const flushes = delta('ingest_flush_rows_count')
  const flushesByTrigger: Record<string, number> = {}
  for (const [key, value] of after) {
    const match = /^ingest_flushes_total\{.*trigger="(\w+)".*outcome="ok".*\}$/.exec(key) ??
      /^ingest_flushes_total\{.*outcome="ok".*trigger="(\w+)".*\}$/.exec(key)
    if (match?.[1] !== undefined) flushesByTrigger[match[1]] = (flushesByTrigger[match[1]] ?? 0) + value - (before.get(key) ?? 0)
  }
  let flushErrors = 0
  for (const [key, value] of after) if (/^ingest_flushes_total\{.*outcome="error"/.test(key)) flushErrors += value - (before.get(key) ?? 0)
  const latencyCount = delta('ingest_event_commit_latency_seconds_count')
  const flushCount = delta('ingest_flush_duration_seconds_count')
  return {
    flushes,
    flushesByTrigger,
    flushErrors,
    ...(flushes > 0 ? { meanRowsPerFlush: delta('ingest_flush_rows_sum') / flushes } : {}),
    ...(flushCount > 0 ? { meanFlushMs: delta('ingest_flush_duration_seconds_sum') / flushCount * 1000 } : {}),
    ...(latencyCount > 0 ? { meanCommitLatencyMs: delta('ingest_event_commit_latency_seconds_sum') / latencyCount * 1000 } : {}),
    ...bucketP99(before, after, 'ingest_event_commit_latency_seconds', latencyCount),
    committed: delta('ingest_events_committed_total'),
    rejected: delta('ingest_events_rejected_total')
  }
}

/** The p99 of a histogram over the window: the upper bound (ms) of the first bucket holding 99 % of the observations. */
function bucketP99 (before: MetricSamples, after: MetricSamples, name: string, count: number): { p99CommitLatencyMs?: number } {
  if (count === 0) return {}
  const buckets: Array<{ le: number, n: number }> = []
  for (const [key, value] of after) {
    const match = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\}$`).exec(key)
    if (match !== null) buckets.push({ le: Number(match[1]), n: value - (before.get(key) ?? 0) })
  }
  buckets.sort((a, b) => a.le - b.le)
  const bucket = buckets.find(b => b.n >= count * 0.99)
  return bucket === undefined || !Number.isFinite(bucket.le) ? {} : { p99CommitLatencyMs: bucket.le * 1000 }
}

export function formatWindowMetrics (m: WindowMetrics): string {
  const triggers = Object.entries(m.flushesByTrigger).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${n}`).join(', ')
  return `service: ${m.flushes} flushes (${triggers === '' ? 'none' : triggers}${m.flushErrors > 0 ? `, ${m.flushErrors} failed` : ''}), ` +
    `${m.meanRowsPerFlush?.toFixed(1) ?? '—'} rows and ${m.meanFlushMs?.toFixed(2) ?? '—'} ms per flush on average, ` +
    `mean receipt-to-commit ${m.meanCommitLatencyMs?.toFixed(2) ?? '—'} ms (p99 ≤ ${m.p99CommitLatencyMs?.toFixed(0) ?? '—'} ms)`
}
