/**
 * HTTP load with autocannon, in this process: bodies from a BodySource (a fresh event_id on every
 * event), a progress line a second, every 2xx latency kept for exact percentiles.
 */
import autocannon from 'autocannon'
import type { BodySource } from './bodies.js'
import { Samples, type LatencySummary } from '../measure/latency.js'

export interface LoadSpec {
  /** For the progress lines, e.g. `single-durable measure`. */
  label: string
  url: string
  connections: number
  seconds: number
  body: BodySource
  /** On every request, beside the body's own (an Authorization header for a --target). */
  headers?: Readonly<Record<string, string>>
  progress: (line: string) => void
}

export interface LoadResult {
  /** As autocannon timed it: the measured window. */
  seconds: number
  /** Requests written to a socket, answered or not. */
  sent: number
  responses: number
  /** 2xx answers: acknowledged. */
  ok: number
  non2xx: number
  statusCodes: Record<string, number>
  /** Socket errors, timeouts included. */
  errors: number
  timeouts: number
  requestsPerSecond: number
  /** Of 2xx answers only. */
  latencyMs?: LatencySummary
  /** The first answer that was neither 2xx nor 503 (a 503 is the service shedding load, by design). */
  firstUnexpected?: { statusCode: number, body: string }
}

export async function runLoad (spec: LoadSpec): Promise<LoadResult> {
  const latencies = new Samples()
  let thisSecond = 0
  let elapsed = 0
  let answered = 0
  let instance: autocannon.Instance | undefined
  let firstUnexpected: LoadResult['firstUnexpected']
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon({
      url: spec.url,
      connections: spec.connections,
      duration: spec.seconds,
      // A durable answer waits for a commit: a slow one is a result, not an error.
      timeout: 30,
      requests: [{
        method: 'POST',
        headers: { ...spec.body.headers, ...spec.headers },
        setupRequest: request => ({ ...request, body: spec.body.next() }),
        onResponse: (statusCode, body) => {
          if (firstUnexpected === undefined && (statusCode < 200 || statusCode >= 300) && statusCode !== 503) {
            firstUnexpected = { statusCode, body: body.slice(0, 500) }
          }
        }
      }]
    }, (err: unknown, result) => {
      if (err === null || err === undefined) resolve(result)
      else reject(err instanceof Error ? err : new Error(String(err)))
    })
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      thisSecond++
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime)
    })
    instance.on('tick', () => {
      elapsed++
      answered += thisSecond
      if (elapsed <= spec.seconds) {
        spec.progress(`${spec.label}  ${elapsed}/${spec.seconds} s  ${thisSecond.toLocaleString('en')} req/s  (mean ${Math.round(answered / elapsed).toLocaleString('en')})`)
      }
      thisSecond = 0
    })
  })
  instance?.removeAllListeners()

  const statusCodes: Record<string, number> = {}
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count ?? 0
  const responses = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx']
  const latencyMs = latencies.summary()
  return {
    seconds: result.duration,
    sent: result.requests.sent,
    responses,
    ok: result['2xx'],
    non2xx: result.non2xx,
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
    requestsPerSecond: responses / result.duration,
    ...(latencyMs !== undefined ? { latencyMs } : {}),
    ...(firstUnexpected !== undefined ? { firstUnexpected } : {})
  }
}
