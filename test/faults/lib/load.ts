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
import { isPoison, workerEvents, type FaultEvent } from './events.js'

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
  /**
   * `url` is a load balancer: its 502 and 504 mean the replica gave no answer (it died with the
   * request, or did not answer in time), so they count as no answer, not as answers.
   */
  viaLoadBalancer?: boolean
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

/** One request: its events, to which route, and when it went. */
interface Sent { events: FaultEvent[], batch: boolean, sentAt: number }

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

function emptyReport (): LoadReport {
  return {
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
}

function parse (body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body)
    return typeof value === 'object' && value !== null ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

function increment<K> (counts: Map<K, number>, key: K): void {
  counts.set(key, (counts.get(key) ?? 0) + 1)
}

/** Writes the report as requests go out and answers come back; each method reads one kind of answer. */
class LoadRecorder {
  readonly report = emptyReport()
  readonly started = performance.now()

  /** A request about to go out: counted, and its poison events remembered. */
  sending (sent: Sent): void {
    for (const event of sent.events) if (isPoison(event)) this.report.poisonSent.add(event.event_id)
    this.report.requests++
    this.report.eventsOffered += sent.events.length
  }

  /** A request done, whatever came back: kept when it was slow. */
  done (sent: Sent, outcome: string): void {
    const took = performance.now() - sent.sentAt
    if (took > SLOW_MS && this.report.slow.length < SLOW_KEPT) {
      this.report.slow.push({ sentAtMs: Math.round(sent.sentAt - this.started), ms: Math.round(took), outcome: `${sent.batch ? 'batch' : 'single'} ${outcome}` })
    }
  }

  #anomaly (text: string): void {
    this.report.anomalyCount++
    if (this.report.anomalies.length < ANOMALIES_KEPT) this.report.anomalies.push(text)
  }

  /** Reads one answer; true when the worker should pause before its next request. */
  answer (sent: Sent, answer: Answer): boolean {
    const { status } = answer
    increment(this.report.statuses, status)
    const parsed = parse(answer.body)
    const excerpt = `${sent.batch ? 'POST /data/batch' : 'POST /data'} → ${status} ${answer.body.slice(0, 200)}`
    if (status === 503) {
      this.#refusedAll(answer, parsed)
      return true
    }
    if (status === 200 || status === 202) {
      if (status === 200) this.report.okLatenciesMs.push(performance.now() - sent.sentAt)
      if (sent.batch) this.#acceptedBatch(sent.events, status, parsed, excerpt)
      else this.#acceptedOne(sent.events[0]!, status, parsed, excerpt)
      return false
    }
    if (status === 422 && !sent.batch) {
      this.#refusedOne(sent.events[0]!, String(parsed?.code))
      return false
    }
    this.#anomaly(excerpt)
    return status >= 500
  }

  /** No HTTP answer at all: the service is down, or did not answer in time. */
  noAnswer (code: string): void {
    increment(this.report.networkErrors, code)
  }

  #refusedAll (answer: Answer, parsed: Record<string, unknown> | undefined): void {
    if (answer.retryAfter === undefined || !/^\d+$/.test(answer.retryAfter)) this.report.retryAfterMissing++
    increment(this.report.codes503, String(parsed?.code))
  }

  #acceptedOne (event: FaultEvent, status: number, parsed: Record<string, unknown> | undefined, excerpt: string): void {
    if (parsed?.duplicate === true) this.#anomaly(`a fresh event_id answered as a duplicate: ${excerpt}`)
    this.#ack(event, status)
  }

  /** 200/202 to a batch: each item in `rejected` was refused one by one, every other one acknowledged. */
  #acceptedBatch (events: FaultEvent[], status: number, parsed: Record<string, unknown> | undefined, excerpt: string): void {
    const rejected = Array.isArray(parsed?.rejected) ? parsed.rejected as Array<{ index?: unknown, code?: unknown }> : []
    const refusedAt = new Set<number>()
    for (const item of rejected) {
      const event = typeof item.index === 'number' ? events[item.index] : undefined
      if (event === undefined) { this.#anomaly(`a rejected entry that names no item: ${excerpt}`); continue }
      refusedAt.add(item.index as number)
      this.#refusedOne(event, String(item.code))
    }
    for (const [index, event] of events.entries()) if (!refusedAt.has(index)) this.#ack(event, status)
    const accepted = Number(parsed?.accepted)
    const duplicates = Number(parsed?.duplicates ?? 0)
    if (duplicates !== 0) this.#anomaly(`fresh event_ids answered as duplicates: ${excerpt}`)
    if (accepted + duplicates + rejected.length !== events.length) {
      this.#anomaly(`accepted ${accepted} + duplicates ${duplicates} + rejected ${rejected.length} ≠ ${events.length} sent: ${excerpt}`)
    }
  }

  #refusedOne (event: FaultEvent, code: string): void {
    if (isPoison(event)) this.report.poisonRefused.set(event.event_id, code)
    else this.report.goodRefused.set(event.event_id, code)
  }

  #ack (event: FaultEvent, status: number): void {
    this.report.acked.add(event.event_id)
    if (status === 200) this.report.ackedCommitted++
    else this.report.ackedBuffered++
    this.report.ackTimes.push(performance.now())
  }
}

/** One POST on the keep-alive agent; rejects when no HTTP answer came (refused, reset, timed out). */
async function post (url: URL, agent: Agent, timeoutMs: number, path: string, body: string): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    const req = request({
      hostname: url.hostname,
      port: url.port,
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
}

export function startLoad (options: LoadOptions): Load {
  const url = new URL(options.url)
  const timeoutMs = options.requestTimeoutMs ?? 30_000
  const pauseMs = options.pauseAfterRefusalMs ?? 25
  const poisonEvery = options.poisonEvery ?? 0
  const agent = new Agent({ keepAlive: true, maxSockets: options.singleWorkers + options.batchWorkers })
  const pacer = options.eventsPerSecond === undefined ? undefined : new Pacer(options.eventsPerSecond)
  const recorder = new LoadRecorder()
  const deadline = recorder.started + options.maxDurationMs
  let stopping = false

  /** Sends one request; true when the worker should pause before its next one. */
  const send = async (sent: Sent): Promise<boolean> => {
    recorder.sending(sent)
    let pause = true
    let outcome: string
    try {
      const answer = await post(url, agent, timeoutMs, sent.batch ? '/data/batch' : '/data', JSON.stringify(sent.batch ? sent.events : sent.events[0]))
      outcome = String(answer.status)
      if (options.viaLoadBalancer === true && (answer.status === 502 || answer.status === 504)) recorder.noAnswer(`LB_${answer.status}`)
      else pause = recorder.answer(sent, answer)
    } catch (err) {
      outcome = (err as { code?: string }).code ?? (err as Error).message
      recorder.noAnswer(outcome)
    }
    recorder.done(sent, outcome)
    return pause
  }

  const worker = async (index: number, batch: boolean): Promise<void> => {
    const events = workerEvents(index)
    const size = batch ? options.batchSize : 1
    for (let n = 0; n < MAX_REQUESTS_PER_WORKER && performance.now() < deadline; n++) {
      if (stopping) break
      const wait = pacer?.delay(size) ?? 0
      if (wait > 0) await sleep(wait)
      if (stopping) break
      const sent = { events: Array.from({ length: size }, () => events.next(poisonEvery > 0 && Math.random() * poisonEvery < 1)), batch, sentAt: performance.now() }
      if (await send(sent) && !stopping) await sleep(pauseMs)
    }
  }

  const done = Promise.all([
    ...Array.from({ length: options.singleWorkers }, (_, i) => worker(i, false)),
    ...Array.from({ length: options.batchWorkers }, (_, i) => worker(options.singleWorkers + i, true))
  ]).then(() => {
    recorder.report.durationMs = performance.now() - recorder.started
    agent.destroy()
    return recorder.report
  })

  return {
    report: recorder.report,
    done,
    stop: async () => {
      stopping = true
      return await done
    }
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
