/**
 * The service's /metrics, read the way Prometheus would: every sample of the text exposition
 * format as `name{labels}` → value.
 */
export type MetricSamples = ReadonlyMap<string, number>

export function parsePrometheusText (text: string): MetricSamples {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const space = line.lastIndexOf(' ')
    samples.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return samples
}

/** GET <serviceUrl>/metrics, parsed. */
export async function scrapeMetrics (serviceUrl: string): Promise<MetricSamples> {
  return parsePrometheusText(await (await fetch(`${serviceUrl}/metrics`)).text())
}

/** The sum of every sample of `name` over all its label sets (a gauge without labels: its value); undefined when there is none. */
export function metricTotal (samples: MetricSamples, name: string): number | undefined {
  let sum: number | undefined
  for (const [key, value] of samples) if (key === name || key.startsWith(`${name}{`)) sum = (sum ?? 0) + value
  return sum
}
