/**
 * The load client: N workers on keep-alive connections, each sending one request at a time to
 * POST /data (one event) or POST /data/batch (a JSON array), every event with its own event_id.
 * It records which event_ids were acknowledged (200: committed; 202: buffered) and everything
 * else that came back. It never retries: an event is either acknowledged or it is not, and the
 * accounting compares exactly the acknowledged ones with the rows.
 *
 * Bounded: each worker stops at `maxDurationMs` or MAX_REQUESTS_PER_WORKER, whichever is first,
 * and a request that gets no answer in `requestTimeoutMs` is abandoned.
 */
import { Agent, request } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { isPoison, makeEvent, type FaultEvent } from './events.js'

export interface LoadOptions {
  url: string
  singleWorkers: number
  batchWorkers: number
  batchSize: number
  /** The load stops by itself after this long, if stop() has not been called. */
  maxDurationMs: number
  /** Offered events per second over all workers; unset: as fast as answers come back. */
  eventsPerSecond?: number
  /** About one event in N is poison (0: none). */
  poisonEvery?: number
  requestTimeoutMs?: number
  /**
   * Pause after a 503 or a refused connection, so a dead service is not spun on. Deliberately
   * shorter than Retry-After: the client is impatient so that recovery is seen when it happens.
   */
  pauseAfterRefusalMs?: number
}

const MAX_REQUESTS_PER_WORKER = 1_000_000
const ANOMALIES_KEPT = 20
const SLOW_MS = 2_000
const SLOW_KEPT = 50

export interface LoadReport {
  durationMs: number
  requests: number
  eventsOffered: number
  /** Requests by HTTP status. */
  statuses: Map<number, number>
  /** Requests that got no HTTP answer, by error code (ECONNREFUSED, ECONNRESET, timeout, …). */
  networkErrors: Map<string, number>
  /** Every event_id answered 200 or 202. */
  acked: Set<string>
  /** Acknowledged events by kind. */
  ackedCommitted: number
  ackedBuffered: number
  /** When each 200/202 arrived (performance.now()), in order. */
  ackTimes: number[]
  /** Latency of every 200, ms. */
  okLatenciesMs: number[]
  /** 503s without a Retry-After header. */
  retryAfterMissing: number
  /** 503s by the `code` of their body (INGEST_BUFFER_FULL, INGEST_DATABASE_UNAVAILABLE, …). */
  codes503: Map<string, number>
  /** Poison events sent, and those refused one by one (422 / `rejected`), with the code given. */
  poisonSent: Set<string>
  poisonRefused: Map<string, string>
  /** Good events refused one by one: none expected. */
  goodRefused: Map<string, string>
  /** Requests that took longer than SLOW_MS: when sent (ms since the load started), how long, what came back. */
  slow: Array<{ sentAtMs: number, ms: number, outcome: string }>
  /** The first unexpected answers, described. */
  anomalies: string[]
  anomalyCount: number
}

export interface Load {
  /** Ends the load (waits for requests in flight) and returns the report. */
  stop: () => Promise<LoadReport>
  /** The report so far (live: acked and ackTimes grow while the load runs). */
  readonly report: LoadReport
  readonly done: Promise<LoadReport>
}

interface Answer { status: number, retryAfter: string | undefined, body: string }

class Pacer {
  #start = performance.now()
  #sent = 0
  constructor (readonly perSecond: number) {}
  /** How long to wait before sending `events` to hold the rate; a worker that fell behind does not burst. */
  delay (events: number): number {
    const now = performance.now()
    let due = this.#start + this.#sent / this.perSecond * 1000
    if (now - due > 1_000) {
      this.#start += now - due - 1_000
      due = now - 1_000
    }
    this.#sent += events
    return Math.max(0, due - now)
  }
}

export function startLoad (options: LoadOptions): Load {
  const { url, batchSize } = options
  const { hostname, port } = new URL(url)
  const timeoutMs = options.requestTimeoutMs ?? 30_000
  const pauseMs = options.pauseAfterRefusalMs ?? 25
  const workers = options.singleWorkers + options.batchWorkers
  const agent = new Agent({ keepAlive: true, maxSockets: workers })
  const pacer = options.eventsPerSecond === undefined ? undefined : new Pacer(options.eventsPerSecond)
  const started = performance.now()
  const deadline = started + options.maxDurationMs
  let stopping = false

  const report: LoadReport = {
    durationMs: 0,
    requests: 0,
    eventsOffered: 0,
    statuses: new Map(),
    networkErrors: new Map(),
    acked: new Set(),
    ackedCommitted: 0,
    ackedBuffered: 0,
    ackTimes: [],
    okLatenciesMs: [],
    retryAfterMissing: 0,
    codes503: new Map(),
    poisonSent: new Set(),
    poisonRefused: new Map(),
    goodRefused: new Map(),
    slow: [],
    anomalies: [],
    anomalyCount: 0
  }

  const anomaly = (text: string): void => {
    report.anomalyCount++
    if (report.anomalies.length < ANOMALIES_KEPT) report.anomalies.push(text)
  }

  const post = async (path: string, body: string): Promise<Answer> => await new Promise((resolve, reject) => {
    const req = request({
      hostname,
      port,
      path,
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
    }, res => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => {
        const retryAfter = res.headers['retry-after']
        resolve({ status: res.statusCode ?? 0, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, body: text })
      })
      res.on('error', reject)
    })
    req.setTimeout(timeoutMs, () => { req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })) })
    req.on('error', reject)
    req.end(body)
  })

  const refusedOne = (event: FaultEvent, code: string): void => {
    if (isPoison(event)) report.poisonRefused.set(event.event_id, code)
    else report.goodRefused.set(event.event_id, code)
  }

  const ack = (event: FaultEvent, status: number, at: number): void => {
    report.acked.add(event.event_id)
    if (status === 200) report.ackedCommitted++
    else report.ackedBuffered++
    report.ackTimes.push(at)
  }

  /** Reads one answer; true when the worker should pause before its next request. */
  const record = (events: FaultEvent[], batch: boolean, answer: Answer, sentAt: number): boolean => {
    const at = performance.now()
    const { status } = answer
    report.statuses.set(status, (report.statuses.get(status) ?? 0) + 1)
    const parsed = parse(answer.body)
    const excerpt = `${batch ? 'POST /data/batch' : 'POST /data'} → ${status} ${answer.body.slice(0, 200)}`
    if (status === 503) {
      if (answer.retryAfter === undefined || !/^\d+$/.test(answer.retryAfter)) report.retryAfterMissing++
      const code = String(parsed?.code)
      report.codes503.set(code, (report.codes503.get(code) ?? 0) + 1)
      return true
    }
    if (status === 200 || status === 202) {
      if (status === 200) report.okLatenciesMs.push(at - sentAt)
      if (!batch) {
        if (parsed?.duplicate === true) anomaly(`a fresh event_id answered as a duplicate: ${excerpt}`)
        ack(events[0]!, status, at)
        return false
      }
      const rejected = Array.isArray(parsed?.rejected) ? parsed.rejected as Array<{ index?: unknown, code?: unknown }> : []
      const refusedAt = new Set<number>()
      for (const item of rejected) {
        const event = typeof item.index === 'number' ? events[item.index] : undefined
        if (event === undefined) { anomaly(`a rejected entry that names no item: ${excerpt}`); continue }
        refusedAt.add(item.index as number)
        refusedOne(event, String(item.code))
      }
      for (const [index, event] of events.entries()) if (!refusedAt.has(index)) ack(event, status, at)
      const accepted = Number(parsed?.accepted)
      const duplicates = Number(parsed?.duplicates ?? 0)
      if (duplicates !== 0) anomaly(`fresh event_ids answered as duplicates: ${excerpt}`)
      if (accepted + duplicates + rejected.length !== events.length) {
        anomaly(`accepted ${accepted} + duplicates ${duplicates} + rejected ${rejected.length} ≠ ${events.length} sent: ${excerpt}`)
      }
      return false
    }
    if (status === 422 && !batch) {
      refusedOne(events[0]!, String(parsed?.code))
      return false
    }
    anomaly(excerpt)
    return status >= 500
  }

  const worker = async (index: number, batch: boolean): Promise<void> => {
    const poisonEvery = options.poisonEvery ?? 0
    for (let sent = 0; sent < MAX_REQUESTS_PER_WORKER && performance.now() < deadline; sent++) {
      if (stopping) break
      const size = batch ? batchSize : 1
      if (pacer !== undefined) {
        const wait = pacer.delay(size)
        if (wait > 0) await sleep(wait)
        if (stopping) break
      }
      const events = Array.from({ length: size }, () => makeEvent(index, poisonEvery > 0 && Math.random() * poisonEvery < 1))
      for (const event of events) if (isPoison(event)) report.poisonSent.add(event.event_id)
      report.requests++
      report.eventsOffered += size
      const sentAt = performance.now()
      let pause: boolean
      let outcome: string
      try {
        const answer = await post(batch ? '/data/batch' : '/data', JSON.stringify(batch ? events : events[0]))
        pause = record(events, batch, answer, sentAt)
        outcome = String(answer.status)
      } catch (err) {
        const code = (err as { code?: string }).code ?? (err as Error).message
        report.networkErrors.set(code, (report.networkErrors.get(code) ?? 0) + 1)
        pause = true
        outcome = code
      }
      const took = performance.now() - sentAt
      if (took > SLOW_MS && report.slow.length < SLOW_KEPT) {
        report.slow.push({ sentAtMs: Math.round(sentAt - started), ms: Math.round(took), outcome: `${batch ? 'batch' : 'single'} ${outcome}` })
      }
      if (pause && !stopping) await sleep(pauseMs)
    }
  }

  const done = Promise.all([
    ...Array.from({ length: options.singleWorkers }, (_, i) => worker(i, false)),
    ...Array.from({ length: options.batchWorkers }, (_, i) => worker(options.singleWorkers + i, true))
  ]).then(() => {
    report.durationMs = performance.now() - started
    agent.destroy()
    return report
  })

  return {
    report,
    done,
    stop: async () => {
      stopping = true
      return await done
    }
  }
}

function parse (body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body)
    return typeof value === 'object' && value !== null ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/** The first acknowledgement at or after `t` (performance.now()), or undefined. */
export function firstAckAfter (report: LoadReport, t: number): number | undefined {
  // ackTimes only grows, in order: binary search.
  let lo = 0
  let hi = report.ackTimes.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (report.ackTimes[mid]! < t) lo = mid + 1
    else hi = mid
  }
  return report.ackTimes[lo]
}

export function percentile (values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)]
}

export function count5xx (report: LoadReport): { all: number, unexpected: number } {
  let all = 0
  let unexpected = 0
  for (const [status, n] of report.statuses) {
    if (status < 500) continue
    all += n
    if (status !== 503) unexpected += n
  }
  return { all, unexpected }
}
