/**
 * The service's own account of a measured window, from /metrics before and after it: how many
 * flushes, how full, how long, and why they were triggered. It says what the client cannot see —
 * whether batches formed, and how long a transaction took.
 */
export type Scrape = Map<string, number>

/** Every sample of Prometheus text: `name{labels}` → value. */
export function parseScrape (text: string): Scrape {
  const samples: Scrape = new Map()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const space = line.lastIndexOf(' ')
    samples.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return samples
}

export async function scrape (serviceUrl: string): Promise<Scrape> {
  return parseScrape(await (await fetch(`${serviceUrl}/metrics`)).text())
}

/** The sum of every sample of `name` (all label sets), or 0. */
function total (s: Scrape, name: string): number {
  let sum = 0
  for (const [key, value] of s) if (key === name || key.startsWith(`${name}{`)) sum += value
  return sum
}

export interface WindowMetrics {
  flushes: number
  /** By trigger: size, time, idle, close. */
  flushesByTrigger: Record<string, number>
  flushErrors: number
  meanRowsPerFlush?: number
  meanFlushMs?: number
  /** Receipt of an event to the commit of its batch, mean over the window. */
  meanCommitLatencyMs?: number
  committed: number
  rejected: number
}

export function windowMetrics (before: Scrape, after: Scrape): WindowMetrics {
  const delta = (name: string): number => total(after, name) - total(before, name)
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
    committed: delta('ingest_events_committed_total'),
    rejected: delta('ingest_events_rejected_total')
  }
}

export function formatWindowMetrics (m: WindowMetrics): string {
  const triggers = Object.entries(m.flushesByTrigger).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${n}`).join(', ')
  return `service: ${m.flushes} flushes (${triggers === '' ? 'none' : triggers}${m.flushErrors > 0 ? `, ${m.flushErrors} failed` : ''}), ` +
    `${m.meanRowsPerFlush?.toFixed(1) ?? '—'} rows and ${m.meanFlushMs?.toFixed(2) ?? '—'} ms per flush on average, ` +
    `mean receipt-to-commit ${m.meanCommitLatencyMs?.toFixed(2) ?? '—'} ms`
}
