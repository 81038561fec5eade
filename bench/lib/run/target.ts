/**
 * --target: the HTTP scenarios against a deployment the bench did not start. Nothing of it is
 * configured, restarted, reset or read from /proc: the load goes to its URL (with --api-key), the
 * drain is read from its /metrics (--metrics-url) or its database's row count, and the no-loss
 * check counts this run's own rows in its database (--database-url, read-only) — the events a
 * window sent share an event_id prefix, so whatever else the tables hold is never counted.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { MetricSamples } from '../../../harness/prometheus-text.js'
import { AckMode } from '../../../src/config.js'
import { runLoad, type LoadResult } from '../load/autocannon.js'
import type { KeySpace } from '../../../harness/events.js'
import { bodySource, type BodySource, type BodySpec } from '../load/bodies.js'
import { idPrefix } from '../load/event-pool.js'
import { cpuUsage, formatRunnerCpu, readCpu, type CpuUsage } from '../measure/cpu-usage.js'
import { waitForDrain } from '../measure/drain.js'
import { formatIo, ioUsage, readIo, type IoUsage } from '../measure/io-usage.js'
import { checkNoLoss, type NoLossCheck } from '../measure/no-loss.js'
import { formatWindowMetrics, windowMetrics, type WindowMetrics } from '../measure/service-metrics.js'
import type { TargetMetrics } from '../measure/target-metrics.js'
import { formatWaits, sampleWaits, type WaitShare } from '../measure/wait-events.js'
import type { Scenario, ScenarioResult } from '../scenario.js'
import { httpSpecOf, routeOf, type HttpScenarioSpec } from './http-scenario.js'
import type { BenchOptions, TargetOptions } from './options.js'
import type { TargetDatabase } from './target-database.js'

export interface TargetContext {
  options: BenchOptions
  target: TargetOptions
  /** --database-url, opened read-only; undefined: no rows are counted. */
  database?: TargetDatabase
  /** Its /metrics, when it answered at the start; undefined: not reachable (the drain falls back). */
  metrics?: TargetMetrics
  progress: (line: string) => void
}

/**
 * Why a scenario cannot run against a deployment the bench did not start; undefined when it can:
 * an HTTP scenario of the service that sets nothing on it. Read from the specs' own fields.
 */
export function targetSkipReason (scenario: Scenario): string | undefined {
  const spec = httpSpecOf(scenario)
  if (spec === undefined) {
    return scenario.usesService
      ? "starts and drives services of its own on the bench's database (emptied between phases): not a load a running deployment can take"
      : "runs on the bench's own PostgreSQL, without the service: nothing of it goes to a target"
  }
  if (spec.target === 'ceiling') return "the bench's own no-op server: the ceiling of this machine, not of the target"
  if (spec.body.live !== undefined) return "live traffic opens new sessions without end: their ids outgrow the bench's band of ids on a target, and the deployment would keep every one"
  if (spec.stream === true) return 'ACK_MODE=stream on a nats-server the bench starts: a running deployment keeps its own ack mode'
  const env = Object.entries(spec.env ?? {})
  if (env.length > 0) return `sets ${env.map(([k, v]) => `${k}=${v}`).join(' ')} on the service: a running deployment keeps its own configuration`
  return undefined
}

// The bench's users and sessions on a target: its tables are not emptied between scenarios (nor
// between runs), so every key space must agree with every other on who owns a session — a session
// id seen with another owner is a 409 — and none should meet the deployment's own users and
// sessions (a user's name and email are upserted). So the ids go to a band of their own, high above
// ordinary ids: the sessions of a key space with s sessions per user in
// [BAND_START + (s − 1)·BAND_WIDTH, BAND_START + s·BAND_WIDTH), its users from ⌈that start ÷ s⌉.
// For one s, session = user·s + n names one owner whatever the number of users, so key spaces with
// the same s agree (and reuse the same rows, run after run); with another s they never meet.
const BAND_START = 1e15
const BAND_WIDTH = 1e13
// harness/events.ts's defaults: 10,000 users, 10 sessions each.
const DEFAULT_USERS = 10_000
const DEFAULT_SESSIONS_PER_USER = 10

/** A scenario's key space moved to the bench's band of ids (above). */
export function targetKeys (keys: KeySpace | undefined): Required<KeySpace> {
  const users = keys?.users ?? DEFAULT_USERS
  const sessionsPerUser = keys?.sessionsPerUser ?? DEFAULT_SESSIONS_PER_USER
  const bandStart = BAND_START + (sessionsPerUser - 1) * BAND_WIDTH
  const firstUser = Math.ceil(bandStart / sessionsPerUser)
  const lastSession = (firstUser + users) * sessionsPerUser - 1
  if (lastSession >= bandStart + BAND_WIDTH || lastSession > Number.MAX_SAFE_INTEGER) {
    throw new Error(`${users} users × ${sessionsPerUser} sessions do not fit the bench's band of ids on a target`)
  }
  return { users, sessionsPerUser, firstUser }
}

// The /metrics drain on a deployment that other clients may keep busy (its buffer never empties):
// after this long the row count decides instead.
const METRICS_DRAIN_TIMEOUT_MS = 60_000
// The row count of this load unchanged for this long: nothing of it is still on its way.
const STEADY_MS = 1_000
const STEADY_POLL_MS = 200
const COUNT_DRAIN_TIMEOUT_MS = 300_000

/** What the answers say about the target's ack mode: 200 after a commit, 202 once accepted. */
interface AckReading {
  /** For the no-loss check: durable only when every 2xx was a 200. */
  mode: AckMode
  description: string
}

export function ackModeOf (statusCodes: Readonly<Record<string, number>>): AckReading {
  const committed = statusCodes['200'] ?? 0
  const accepted = statusCodes['202'] ?? 0
  if (committed > 0 && accepted === 0) return { mode: AckMode.durable, description: `durable (every 2xx a 200: committed before the answer; ${committed} answers)` }
  if (accepted > 0 && committed === 0) return { mode: AckMode.buffered, description: `buffered or stream (every 2xx a 202: accepted, committed after; ${accepted} answers)` }
  if (accepted > 0) return { mode: AckMode.buffered, description: `mixed: ${committed} answers 200 and ${accepted} answers 202 (replicas in different modes?)` }
  return { mode: AckMode.buffered, description: 'unknown: no 200 or 202 answer' }
}

/** A 4xx or a 5xx but 503 makes the figures meaningless: the scenario fails, saying what the target answered. */
function refuseUnexpectedAnswers (load: LoadResult, target: TargetOptions): void {
  if (load.responses === 0) {
    throw new Error(`${target.url} answered nothing: ${load.errors} socket errors (${load.timeouts} timeouts) over ${load.sent} requests`)
  }
  if (load.firstUnexpected === undefined) return
  const unexpected = Object.entries(load.statusCodes).filter(([code]) => !code.startsWith('2') && code !== '503')
  const counts = unexpected.map(([code, n]) => `${n.toLocaleString('en')} × ${code}`).join(', ')
  const hint = (load.statusCodes['401'] ?? 0) === 0
    ? ''
    : target.apiKey === undefined
      ? ' — the target wants an API key: --api-key <key> or BENCH_API_KEY'
      : ' — the target refused the API key given'
  throw new Error(`${target.url} answered ${counts} of ${load.responses.toLocaleString('en')} requests${hint}; the first: ${load.firstUnexpected.statusCode} ${load.firstUnexpected.body}`)
}

async function scrape (metrics: TargetMetrics | undefined): Promise<MetricSamples | undefined> {
  return await metrics?.scrape(metrics.url).catch(() => undefined)
}

/** Rows of this load unchanged for STEADY_MS: its seconds. */
async function waitForSteadyCount (database: TargetDatabase, prefix: string): Promise<number> {
  const started = performance.now()
  let last = await database.countLoad(prefix)
  let steadySince = performance.now()
  for (;;) {
    await sleep(STEADY_POLL_MS)
    const now = await database.countLoad(prefix)
    if (now !== last) {
      last = now
      steadySince = performance.now()
    } else if (performance.now() - steadySince >= STEADY_MS) {
      return Math.max(0, performance.now() - started - STEADY_MS) / 1000
    }
    if (performance.now() - started > COUNT_DRAIN_TIMEOUT_MS) throw new Error(`this load's rows still changed after ${COUNT_DRAIN_TIMEOUT_MS / 1000} s`)
  }
}

interface Drain {
  /** undefined: not waited for. */
  seconds?: number
  how: string
}

/**
 * Until the target holds none of this load's events. Its /metrics gauges first (the service's
 * buffer empty, no flush in flight); then, with --database-url, this load's row count until it
 * holds still — instead of the gauges when they are out of reach, and after them when the answers
 * were 202 (a stream's writers, or other replicas, may still be writing what one process's gauges
 * do not show). Neither: not waited for, and said so.
 */
async function drainTarget ({ metrics, database, progress }: TargetContext, label: string, prefix: string, accepted: boolean): Promise<Drain> {
  const started = performance.now()
  const steps: string[] = []
  let byMetrics = false
  if (metrics !== undefined) {
    try {
      await waitForDrain(metrics.url, { scrape: metrics.scrape, timeoutMs: METRICS_DRAIN_TIMEOUT_MS })
      byMetrics = true
      steps.push(`${metrics.url}/metrics: buffer empty, no flush in flight`)
    } catch (err) {
      steps.push(`${metrics.url}/metrics did not show a drain (${(err as Error).message})`)
      progress(`${label}: ${steps.at(-1)!}; ${database === undefined ? 'not waiting any longer' : 'waiting for the row count instead'}`)
    }
  }
  if (database !== undefined && (!byMetrics || accepted)) {
    await waitForSteadyCount(database, prefix)
    steps.push(`this load's row count held still for ${STEADY_MS / 1000} s`)
  }
  if (!byMetrics && database === undefined) {
    return { how: `not waited for: ${metrics === undefined ? '/metrics is out of reach' : steps.join('')} and no --database-url to count rows` }
  }
  return { seconds: (performance.now() - started) / 1000, how: steps.join('; then ') }
}

/** What the target's database says of the window: read right after it (before the drain). */
interface DatabaseWindow {
  storedBefore: number
  storedAtEnd: number
  notes: string[]
  io: IoUsage
  waits: WaitShare[]
}

export async function runTargetScenario (spec: HttpScenarioSpec, context: TargetContext): Promise<ScenarioResult> {
  const { options, target, database, metrics, progress } = context
  const { route, connections } = routeOf(spec, options)
  const headers: Record<string, string> = target.apiKey === undefined ? {} : { authorization: `Bearer ${target.apiKey}` }
  const keys = targetKeys(spec.body.keys)
  const bodySpec: BodySpec = { ...spec.body, keys }
  const load = async (body: BodySource, phase: string, seconds: number): Promise<LoadResult> =>
    await runLoad({ label: `${spec.name} ${phase}`, url: `${target.url}${route}`, connections, seconds, body, headers, progress })

  if (options.warmup > 0) {
    // Its own prefix: the tables are not emptied after it, so its rows must not be the window's.
    const warm = bodySource(bodySpec, { seconds: options.warmup, idPrefix: idPrefix() })
    const warmed = await load(warm, 'warm-up', options.warmup)
    refuseUnexpectedAnswers(warmed, target)
    await drainTarget(context, `${spec.name} warm-up`, warm.idPrefix!, ackModeOf(warmed.statusCodes).mode !== AckMode.durable)
  }

  // A fresh prefix: 0 rows before, almost surely (2⁻⁴⁸) — counted all the same, so the figure is
  // after − before whatever the table held.
  const body = bodySource(bodySpec, { seconds: options.duration, idPrefix: idPrefix() })
  const prefix = body.idPrefix!
  const metricsBefore = await scrape(metrics)
  let measured: LoadResult
  let window: DatabaseWindow | undefined
  let cpu: CpuUsage
  if (database === undefined) {
    const cpuBefore = readCpu(undefined, undefined)
    measured = await load(body, 'measure', options.duration)
    cpu = cpuUsage(cpuBefore, readCpu(undefined, undefined))
  } else {
    const storedBefore = await database.countLoad(prefix)
    const ioBefore = await readIo(database.sql)
    // The service names its connections (src/database/client.ts); anything else of the deployment's
    // with that name is sampled too.
    const sampler = sampleWaits(database.sql, 'metrics-ingest')
    let waits
    try {
      const cpuBefore = readCpu(undefined, undefined)
      measured = await load(body, 'measure', options.duration)
      cpu = cpuUsage(cpuBefore, readCpu(undefined, undefined))
    } finally {
      waits = await sampler.stop()
    }
    const storedAtEnd = await database.countLoad(prefix) - storedBefore
    const io = ioUsage(ioBefore, await readIo(database.sql), storedAtEnd)
    window = { storedBefore, storedAtEnd, io, waits, notes: [`${formatIo(io)} — the cluster's WAL: everything it served meanwhile included`, formatWaits(waits)] }
  }
  progress(`${spec.name} ${formatRunnerCpu(cpu)}`)
  refuseUnexpectedAnswers(measured, target)
  const ack = ackModeOf(measured.statusCodes)
  progress(`${spec.name} ack mode of the target, from its answers: ${ack.description}`)

  const drain = await drainTarget(context, spec.name, prefix, ack.mode !== AckMode.durable)
  progress(`${spec.name} drain: ${drain.how}`)
  let noLoss: NoLossCheck | undefined
  if (database !== undefined && window !== undefined) {
    noLoss = checkNoLoss({
      ackMode: ack.mode,
      eventsPerRequest: body.eventsPerRequest,
      ok: measured.ok,
      sent: measured.sent,
      responses: measured.responses,
      storedAtEnd: window.storedAtEnd,
      storedAfterDrain: await database.countLoad(prefix) - window.storedBefore
    })
    progress(`${spec.name} no-loss: ${noLoss.message}`)
  } else {
    progress(`${spec.name} no-loss: not checked (no --database-url)`)
  }
  const metricsAfter = metricsBefore === undefined ? undefined : await scrape(metrics)
  const service: WindowMetrics | undefined = metricsBefore === undefined || metricsAfter === undefined ? undefined : windowMetrics(metricsBefore, metricsAfter)
  if (service !== undefined) progress(`${spec.name} ${formatWindowMetrics(service)} (the process behind ${metrics!.url}/metrics, all of its traffic)`)

  // Committed rows of this load where they can be counted; else what the target acknowledged.
  const eventsPerSecond = (noLoss !== undefined ? noLoss.stored : measured.ok * body.eventsPerRequest) / measured.seconds
  return {
    name: spec.name,
    description: `${spec.description} — here against ${target.url}, in its own configuration (nothing set by the bench); ack mode from its answers: ${ack.description}`,
    config: {
      target: target.url,
      route: `POST ${route}`,
      body: bodySpec,
      connections,
      ackMode: ack.description,
      serviceEnv: "the target's own: --target sets nothing on it",
      apiKey: target.apiKey !== undefined,
      database: database?.where ?? 'not given: no rows counted',
      metrics: metrics === undefined ? 'out of reach' : `${metrics.url}/metrics`,
      drain: drain.how,
      warmupSeconds: options.warmup
    },
    seconds: measured.seconds,
    requestsPerSecond: measured.requestsPerSecond,
    eventsPerSecond,
    ...(measured.latencyMs !== undefined ? { latencyMs: measured.latencyMs } : {}),
    non2xx: measured.non2xx,
    errors: measured.errors,
    statusCodes: measured.statusCodes,
    ...(drain.seconds !== undefined ? { drainSeconds: drain.seconds } : {}),
    ...(noLoss !== undefined ? { noLoss } : { noLossNotChecked: 'no --database-url' }),
    ...(service !== undefined ? { service } : {}),
    cpu,
    ...(window !== undefined ? { io: window.io, waits: window.waits } : {}),
    notes: [
      noLoss === undefined
        ? 'events/s: 2xx answers × events per request (no --database-url: rows not counted); no-loss: not checked (no --database-url)'
        : "events/s: this run's rows in the target's user_metrics (counted by event_id prefix) ÷ the measured seconds",
      `drain: ${drain.how}`,
      `users ${keys.firstUser}–${keys.firstUser + keys.users - 1}, ${keys.sessionsPerUser} sessions each: the bench's band of ids on a target (users and sessions are upserted there, never emptied)`,
      ...(service !== undefined ? [`${formatWindowMetrics(service)} — the process behind ${metrics!.url}/metrics, all of its traffic`] : []),
      formatRunnerCpu(cpu),
      ...(window?.notes ?? []),
      ...(body.builtDuringRun > 0 ? [`${body.builtDuringRun} gzip bodies were compressed during the run (the pre-built ones ran out): load-generator CPU`] : [])
    ]
  }
}
