/**
 * One HTTP scenario from its spec: start the server, warm it up (not recorded), empty the tables,
 * load it for the measured window, then count what the database holds and check it against the
 * 2xx answers. A caller may put something in front (a Front: the replicas group's HAProxy before
 * N services started at once); the load then goes to it, and every service is scraped, drained
 * and measured.
 */
import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { scrapeMetrics, type MetricSamples } from '../../../harness/prometheus-text.js'
import { NatsCluster } from '../../../harness/nats-process.js'
import { AckMode } from '../../../src/config.js'
import { runLoad, type LoadResult } from '../load/autocannon.js'
import { BodyKind, bodySource, type BodySource, type BodySpec } from '../load/bodies.js'
import { summariseProfileFile } from '../measure/cpu-profile.js'
import { cpuPerEvent, cpuUsage, formatCpu, readCpu, type CpuUsage } from '../measure/cpu-usage.js'
import { waitForDrain } from '../measure/drain.js'
import { formatIo, ioUsage, readIo, type IoReading, type IoUsage } from '../measure/io-usage.js'
import { checkNoLoss, type NoLossCheck } from '../measure/no-loss.js'
import { formatWindowMetrics, windowMetrics, type WindowMetrics } from '../measure/service-metrics.js'
import { resetStatements, topStatements, type StatementShare } from '../measure/statements.js'
import { formatWaits, sampleWaits, type WaitShare } from '../measure/wait-events.js'
import type { Scenario, ScenarioContext, ScenarioResult } from '../scenario.js'
import { startCeilingServer, startService, type RunningServer } from './processes.js'

export interface HttpScenarioSpec {
  name: string
  description: string
  /** The real service (dist/server.js), the default; or the no-op ceiling server, which stores nothing. */
  target?: 'service' | 'ceiling'
  /** Single events go to POST /data, the others to POST /data/batch. */
  body: BodySpec
  /** The service's environment on top of ACK_MODE=durable and its defaults (FLUSH_MAX_ROWS, …). */
  env?: Record<string, string>
  /** Default: --connections for single events, --batch-connections for batches. */
  connections?: number
  /**
   * ACK_MODE=stream: a nats-server with JetStream (one node, R1) is started for the run, the
   * service publishes to it and writes from it (ROLE=all), and the drain waits for the stream to empty.
   */
  stream?: boolean
}

/**
 * Something between the load and the services (the replicas group's HAProxy): runHttpScenario
 * starts `replicas` services at once on the bench database, then the front before their addresses,
 * and sends the load to the front's url. Its process's CPU is reported apart, under `name`.
 */
export interface Front {
  name: string
  replicas: number
  start: (serviceUrls: readonly string[], context: ScenarioContext) => Promise<RunningFront>
}

export interface RunningFront {
  url: string
  pid: number
  stop: () => Promise<void>
}

/** What the load goes to and what is measured: one server, or a front and the services behind it. */
interface Target {
  url: string
  /** Each service process (or the one ceiling server): scraped, drained, their CPU the server's. */
  servers: readonly RunningServer[]
  front?: { name: string, running: RunningFront }
  /** ACK_MODE=stream: the NATS server the services publish to and write from. */
  nats?: NatsCluster
}

/** The stream the bench's services use (STREAM_NAME). */
const BENCH_STREAM = 'BENCH'

/** One run of a spec: the spec with the options applied. */
interface Plan {
  name: string
  route: '/data' | '/data/batch'
  connections: number
  /** The service on the bench database; false: the ceiling server. */
  stores: boolean
  /** The service's environment: the spec's, then --service-env. Empty for the ceiling server. */
  env: Record<string, string>
  body: BodySource
  profileDir?: string
}

/** What the database and the service said over the measured window (storing scenarios only). */
interface DatabaseWindow {
  metricsBefore: MetricSamples
  ioBefore: IoReading
  ioAfter: IoReading
  waits: WaitShare[]
}

/** What became of the events, once the service drained. */
interface Stored {
  io: IoUsage
  waits: WaitShare[]
  drainSeconds: number
  service: WindowMetrics
  noLoss: NoLossCheck
  statements?: StatementShare[]
}

// Each scenario httpScenario() made, and its spec: what --target reads to tell the scenarios it can
// point at a running deployment (a service's defaults, no env of its own) from the others.
const specs = new WeakMap<Scenario, HttpScenarioSpec>()

export function httpScenario (spec: HttpScenarioSpec): Scenario {
  const scenario: Scenario = { name: spec.name, description: spec.description, usesService: spec.target !== 'ceiling', run: async context => await runHttpScenario(spec, context) }
  specs.set(scenario, spec)
  return scenario
}

/** The spec of a scenario httpScenario() made; undefined for every other kind (bare-commit, growth, …). */
export function httpSpecOf (scenario: Scenario): HttpScenarioSpec | undefined {
  return specs.get(scenario)
}

/** Where a spec's requests go and over how many connections, with the options applied. */
export function routeOf (spec: HttpScenarioSpec, options: ScenarioContext['options']): { route: '/data' | '/data/batch', connections: number } {
  const single = spec.body.kind === BodyKind.single
  return { route: single ? '/data' : '/data/batch', connections: spec.connections ?? (single ? options.connections : options.batchConnections) }
}

/**
 * The spec's one result: for a caller that runs it on a database of its own (the growth group), or
 * through a front before several services (the replicas group).
 */
export async function runHttpScenario (spec: HttpScenarioSpec, context: ScenarioContext, front?: Front): Promise<ScenarioResult> {
  const plan = planRun(spec, context)
  if (front !== undefined && !plan.stores) throw new Error(`${plan.name}: a front stands before services, not the ceiling server`)
  const target = await startTarget(plan, context, front)
  const pids = target.servers.map(server => server.pid)
  const named = { ...(target.front === undefined ? {} : { [target.front.name]: target.front.running.pid }), ...target.nats?.pids }
  let load: LoadResult
  let cpu: CpuUsage
  let stored: Stored | undefined
  let peakRss: Array<number | undefined> = []
  try {
    await warmUp(plan, target, context)
    const watch = plan.stores ? await watchDatabase(target, context) : undefined
    const cpuBefore = readCpu(pids, context.database.serverPid, named)
    load = await loadFor(plan, target, context, 'measure', context.options.duration)
    cpu = cpuUsage(cpuBefore, readCpu(pids, context.database.serverPid, named))
    const window = await watch?.stop()
    context.progress(`${plan.name} ${formatCpu(cpu)}`)
    refuseUnexpectedAnswers(load)
    if (window !== undefined) stored = await accountForEvents(plan, target, context, load, window)
    peakRss = target.servers.map(server => server.peakRssBytes())
  } finally {
    await stopTarget(plan, target, context)
  }
  return await httpResult(plan, spec, context, { load, cpu, stored, peakRss })
}

function planRun (spec: HttpScenarioSpec, { options, profileDir }: ScenarioContext): Plan {
  const stores = spec.target !== 'ceiling'
  return {
    name: spec.name,
    ...routeOf(spec, options),
    stores,
    env: stores ? { ACK_MODE: spec.stream === true ? AckMode.stream : AckMode.durable, ...(spec.stream === true ? { STREAM_NAME: BENCH_STREAM } : {}), ...spec.env, ...options.serviceEnv } : {},
    body: bodySource(spec.body, { seconds: options.duration }),
    ...(profileDir !== undefined && stores ? { profileDir: join(profileDir, spec.name) } : {})
  }
}

async function startTarget (plan: Plan, context: ScenarioContext, front: Front | undefined): Promise<Target> {
  const { database, pinning } = context
  if (plan.profileDir !== undefined) await mkdir(plan.profileDir, { recursive: true })
  const start = {
    prefix: pinning.serverCommand,
    // The profile is written when the process exits: SIGTERM → drain → exit.
    ...(plan.profileDir !== undefined ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${plan.profileDir}`] } : {})
  }
  if (!plan.stores) {
    const server = await startCeilingServer(start)
    return { url: server.url, servers: [server] }
  }
  await database.reset()
  if (plan.env.ACK_MODE === AckMode.stream) {
    if (front !== undefined) throw new Error(`${plan.name}: stream mode behind a front is not a bench scenario`)
    const nats = await NatsCluster.start()
    try {
      const server = await startService({ DATABASE_URL: database.url, NATS_URL: nats.url, ...plan.env }, start)
      return { url: server.url, servers: [server], nats }
    } catch (err) {
      await nats.close()
      throw err
    }
  }
  if (front === undefined) {
    const server = await startService({ DATABASE_URL: database.url, ...plan.env }, start)
    return { url: server.url, servers: [server] }
  }
  // All at once on the same database, as a scaled-out deployment starts (they migrate under an advisory lock).
  const started = await Promise.allSettled(Array.from({ length: front.replicas }, async () => await startService({ DATABASE_URL: database.url, ...plan.env }, start)))
  const servers = started.flatMap(s => s.status === 'fulfilled' ? [s.value] : [])
  try {
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    const running = await front.start(servers.map(server => server.url), context)
    return { url: running.url, servers, front: { name: front.name, running } }
  } catch (err) {
    await Promise.all(servers.map(async server => await server.stop()))
    throw err
  }
}

/** The front first (no new requests), then every server: each drains what it holds. */
async function stopTarget (plan: Plan, target: Target, { progress }: ScenarioContext): Promise<void> {
  await target.front?.running.stop()
  const codes = await Promise.all(target.servers.map(async server => await server.stop()))
  codes.forEach((code, i) => {
    const which = target.servers.length > 1 ? `server ${i + 1} of ${target.servers.length}` : 'the server'
    if (code !== 0 && code !== null) progress(`${plan.name}: ${which} exited with ${code}`)
  })
  await target.nats?.close()
}

async function loadFor (plan: Plan, target: Target, { progress }: ScenarioContext, phase: string, seconds: number): Promise<LoadResult> {
  return await runLoad({ label: `${plan.name} ${phase}`, url: `${target.url}${plan.route}`, connections: plan.connections, seconds, body: plan.body, progress })
}

/** Every service holds no more events (nor does the stream, in stream mode): the longest of their drains. */
async function drainAll (target: Target): Promise<number> {
  const started = performance.now()
  if (target.nats !== undefined && !await target.nats.waitDrained(BENCH_STREAM, DRAIN_TIMEOUT_MS)) {
    throw new Error(`the stream still holds messages after ${DRAIN_TIMEOUT_MS / 1000} s`)
  }
  const streamSeconds = (performance.now() - started) / 1000
  return streamSeconds + Math.max(...await Promise.all(target.servers.map(async server => await waitForDrain(server.url))))
}

const DRAIN_TIMEOUT_MS = 300_000

/** Every service's /metrics, summed sample by sample: the counters of one service that is N processes. */
async function scrapeAll (target: Target): Promise<MetricSamples> {
  const all = await Promise.all(target.servers.map(async server => await scrapeMetrics(server.url)))
  if (all.length === 1) return all[0]!
  const sum = new Map<string, number>()
  for (const samples of all) for (const [key, value] of samples) sum.set(key, (sum.get(key) ?? 0) + value)
  return sum
}

/**
 * Unrecorded load (JIT, pools, the row cache), then an empty user_metrics — the users and sessions
 * stay, as behind a service that has been running — and the bodies from the start again.
 */
async function warmUp (plan: Plan, target: Target, context: ScenarioContext): Promise<void> {
  if (context.options.warmup === 0) return
  await loadFor(plan, target, context, 'warm-up', context.options.warmup)
  if (plan.stores) {
    await drainAll(target)
    await context.database.emptyMetrics()
  }
  plan.body.rewind()
}

/** Starts watching the database and the service for the window; stop() when the load ends. */
async function watchDatabase (target: Target, { database }: ScenarioContext): Promise<{ stop: () => Promise<DatabaseWindow> }> {
  const metricsBefore = await scrapeAll(target)
  if (database.statements) await resetStatements(database.sql)
  const ioBefore = await readIo(database.sql)
  // The service names its connections (src/database/client.ts): its writers and one spare.
  const sampler = sampleWaits(database.sql, 'metrics-ingest')
  return {
    stop: async () => {
      const waits = await sampler.stop()
      return { metricsBefore, ioBefore, ioAfter: await readIo(database.sql), waits }
    }
  }
}

/**
 * A 4xx is a harness bug (the bodies are meant to be valid), a 500 a service bug: either makes
 * the figures meaningless, so the run fails instead of reporting them.
 */
function refuseUnexpectedAnswers (load: LoadResult): void {
  if (load.firstUnexpected === undefined) return
  const count = Object.entries(load.statusCodes).filter(([code]) => !code.startsWith('2') && code !== '503').reduce((n, [, c]) => n + c, 0)
  throw new Error(`${count} unexpected answers, the first: ${load.firstUnexpected.statusCode} ${load.firstUnexpected.body}`)
}

/** The rows right after the window and after the drain, the service's account, and the no-loss check. */
async function accountForEvents (plan: Plan, target: Target, { database, progress }: ScenarioContext, load: LoadResult, window: DatabaseWindow): Promise<Stored> {
  const storedAtEnd = await database.countEvents()
  const io = ioUsage(window.ioBefore, window.ioAfter, storedAtEnd)
  progress(`${plan.name} ${formatIo(io)}`)
  progress(`${plan.name} ${formatWaits(window.waits)}`)
  const drainSeconds = await drainAll(target)
  const storedAfterDrain = await database.countEvents()
  const statements = database.statements ? await topStatements(database.sql) : undefined
  const service = windowMetrics(window.metricsBefore, await scrapeAll(target))
  progress(`${plan.name} ${formatWindowMetrics(service)}`)
  const noLoss = checkNoLoss({
    ackMode: plan.env.ACK_MODE === AckMode.buffered || plan.env.ACK_MODE === AckMode.stream ? plan.env.ACK_MODE : AckMode.durable,
    eventsPerRequest: plan.body.eventsPerRequest,
    ok: load.ok,
    sent: load.sent,
    responses: load.responses,
    storedAtEnd,
    storedAfterDrain
  })
  progress(`${plan.name} no-loss: ${noLoss.message}`)
  return { io, waits: window.waits, drainSeconds, service, noLoss, ...(statements !== undefined ? { statements } : {}) }
}

async function httpResult (plan: Plan, spec: HttpScenarioSpec, { options }: ScenarioContext, measured: { load: LoadResult, cpu: CpuUsage, stored: Stored | undefined, peakRss: Array<number | undefined> }): Promise<ScenarioResult> {
  const { load, cpu, stored, peakRss } = measured
  // Several services: the largest of their peaks (each is in the notes).
  const peaks = peakRss.filter((bytes): bytes is number => bytes !== undefined)
  const peakRssBytes = peaks.length === 0 ? undefined : Math.max(...peaks)
  const eventsPerSecond = stored === undefined ? undefined : stored.noLoss.stored / load.seconds
  const notes = [
    ...(stored === undefined ? [] : [formatWindowMetrics(stored.service)]),
    formatCpu(cpu),
    ...(stored === undefined ? [] : [formatIo(stored.io), formatWaits(stored.waits)]),
    ...(plan.body.builtDuringRun > 0 ? [`${plan.body.builtDuringRun} gzip bodies were compressed during the run (the pre-built ones ran out): client CPU taken from the server`] : []),
    ...(peakRss.length > 1 ? [`peak RSS of each service, MiB: ${peakRss.map(bytes => bytes === undefined ? '—' : Math.round(bytes / 2 ** 20)).join(', ')} (the table shows the largest)`] : [])
  ]
  const profile = plan.profileDir === undefined ? undefined : await profileOf(plan.profileDir)
  return {
    name: spec.name,
    description: spec.description,
    config: {
      target: plan.stores ? 'dist/server.js' : 'bench/lib/run/ceiling-server.ts',
      route: `POST ${plan.route}`,
      body: spec.body,
      connections: plan.connections,
      env: plan.stores ? { ...plan.env, note: 'service defaults otherwise; DATABASE_URL = the bench database' } : {},
      warmupSeconds: options.warmup
    },
    seconds: load.seconds,
    requestsPerSecond: load.requestsPerSecond,
    ...(eventsPerSecond !== undefined ? { eventsPerSecond, cpuPerEvent: cpuPerEvent(cpu, eventsPerSecond, { service: true }) } : {}),
    ...(load.latencyMs !== undefined ? { latencyMs: load.latencyMs } : {}),
    non2xx: load.non2xx,
    errors: load.errors,
    statusCodes: load.statusCodes,
    ...(peakRssBytes !== undefined ? { peakRssBytes } : {}),
    ...(stored !== undefined ? { drainSeconds: stored.drainSeconds, noLoss: stored.noLoss, service: stored.service } : {}),
    cpu,
    ...(stored !== undefined ? { io: stored.io, waits: stored.waits } : {}),
    ...(stored?.statements !== undefined ? { statements: stored.statements } : {}),
    notes,
    ...(profile !== undefined ? { profile } : {})
  }
}

/** node writes `CPU.<date>.<pid>….cpuprofile` at exit: the newest one in the scenario's folder. */
async function profileOf (dir: string): Promise<ScenarioResult['profile']> {
  const files = (await readdir(dir)).filter(file => file.endsWith('.cpuprofile')).sort()
  const file = files.at(-1)
  return file === undefined ? undefined : await summariseProfileFile(join(dir, file))
}
