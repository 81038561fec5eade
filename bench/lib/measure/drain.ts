/**
 * Waits until the service holds no events and takes no more: every event it accepted is committed
 * (or refused). Read from its own gauges on /metrics, so the process keeps running to be measured.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { metricTotal, scrapeMetrics, type MetricSamples } from '../../../harness/prometheus-text.js'

// Between two readings: long enough for a request the client gave up on, but which the server had
// already read, to reach the buffer (and move ingest_events_received_total).
const QUIET_MS = 200

/**
 * Seconds until ingest_buffer_events and ingest_flushes_in_flight are 0 and no event arrived for
 * QUIET_MS. Without the quiet period a request still being parsed when the client stopped could
 * commit after the next scenario's truncate. `scrape`: how <serviceUrl>/metrics is read (a --target
 * deployment's, with its API key and a status check).
 */
export async function waitForDrain (serviceUrl: string, { timeoutMs = 300_000, scrape = scrapeMetrics }: { timeoutMs?: number, scrape?: (url: string) => Promise<MetricSamples> } = {}): Promise<number> {
  const started = performance.now()
  let lastReceived: number | undefined
  for (;;) {
    const samples = await scrape(serviceUrl)
    const buffered = metricTotal(samples, 'ingest_buffer_events')
    const writing = metricTotal(samples, 'ingest_flushes_in_flight') ?? 0
    const received = metricTotal(samples, 'ingest_events_received_total')
    if (buffered === undefined) throw new Error(`${serviceUrl}/metrics has no ingest_buffer_events`)
    if (buffered === 0 && writing === 0 && received === lastReceived) return Math.max(0, performance.now() - started - QUIET_MS) / 1000
    lastReceived = buffered === 0 && writing === 0 ? received : undefined
    if (performance.now() - started > timeoutMs) {
      throw new Error(`the service still holds ${buffered} events after ${timeoutMs / 1000} s`)
    }
    await sleep(buffered === 0 ? QUIET_MS : 50)
  }
}
