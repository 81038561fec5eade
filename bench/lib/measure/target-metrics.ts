/**
 * A --target deployment's /metrics: maybe on another port (METRICS_PORT), behind a proxy, or not
 * reachable from here at all. Read with a status check — a proxy's 401 or 404 page is not an empty
 * set of samples — and the API key when it is the target's own origin (the key is never sent to
 * another host).
 */
import { metricTotal, parsePrometheusText, type MetricSamples } from '../../../harness/prometheus-text.js'

export interface TargetMetrics {
  /** The base /metrics is appended to. */
  url: string
  /** Reads <url>/metrics; throws when it is not the service's. */
  scrape: (url: string) => Promise<MetricSamples>
}

const SCRAPE_TIMEOUT_MS = 5_000

export function targetMetrics (metricsUrl: string, targetUrl: string, apiKey: string | undefined): TargetMetrics {
  const sameOrigin = new URL(metricsUrl).origin === new URL(targetUrl).origin
  const headers: Record<string, string> = apiKey !== undefined && sameOrigin ? { authorization: `Bearer ${apiKey}` } : {}
  return {
    url: metricsUrl,
    scrape: async url => {
      const response = await fetch(`${url}/metrics`, { headers, signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) })
      const text = await response.text()
      if (!response.ok) throw new Error(`${url}/metrics answered ${response.status}`)
      const samples = parsePrometheusText(text)
      if (metricTotal(samples, 'ingest_buffer_events') === undefined) throw new Error(`${url}/metrics has no ingest_buffer_events: not metrics-ingest's /metrics`)
      return samples
    }
  }
}

/** One scrape: undefined when it works, else why not (for the report). */
export async function probeMetrics (metrics: TargetMetrics): Promise<string | undefined> {
  try {
    await metrics.scrape(metrics.url)
    return undefined
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code
    return `${(err as Error).message}${cause !== undefined ? ` (${cause})` : ''}`
  }
}
