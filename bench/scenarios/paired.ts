/**
 * single-durable between its roof and its floor, in the same minutes. The ceiling server (no
 * handler), the floor server (the least durable writer on this schema: lib/run/floor-server.ts)
 * and the service run at once on the bench database and take the load in turn: short windows,
 * round after round, each round in another order (lib/run/alternating.ts).
 *
 * The plain scenarios measure ceiling-http and single-durable minutes apart, and the CPU the host
 * steals from this VM moves by the minute: the same code has measured 0.49× and 0.55× of the
 * ceiling in two runs an hour apart. Here the drift falls on all three alike and each round's
 * ratio comes from windows seconds apart; the comparisons report the median of the rounds' ratios,
 * and each round's.
 */
import { cpus } from 'node:os'
import { AckMode } from '../../src/config.js'
import { BodyKind, bodySource } from '../lib/load/bodies.js'
import { ownBusyCores } from '../lib/measure/busy-cores.js'
import { cpuPerEvent, formatCpu } from '../lib/measure/cpu-usage.js'
import type { NoLossCheck } from '../lib/measure/no-loss.js'
import { alternate, type Window } from '../lib/run/alternating.js'
import { startCeilingServer, startFloorServer, startService, type RunningServer } from '../lib/run/processes.js'
import { PairedContender, type Scenario, type ScenarioContext, type ScenarioResult } from '../lib/scenario.js'

const GROUP = 'paired'
// Long enough for a window to reach its steady state (a flush every few ms), short enough that
// five rounds of three take about as long as two plain scenarios.
const WINDOW_SECONDS = 5
const ROUNDS = 5
// Every core of the machine (/proc/stat's busy time counts them all), for the share each window kept busy.
const cores = cpus().length
const thousandths = (x: number): number => Math.round(x * 1000) / 1000

const ENTRY: Record<PairedContender, string> = {
  [PairedContender.ceiling]: 'bench/lib/run/ceiling-server.ts',
  [PairedContender.floor]: 'bench/lib/run/floor-server.ts',
  [PairedContender.service]: 'dist/server.js'
}

interface Running {
  contender: PairedContender
  server: RunningServer
  stores: boolean
  windows: Window[]
  /** VmHWM once the rounds are over, warm-up included. */
  peakRssBytes?: number | undefined
}

async function startAll ({ database, pinning, options }: ScenarioContext): Promise<Running[]> {
  const start = { prefix: pinning.serverCommand }
  const started = await Promise.allSettled([
    startCeilingServer(start),
    startFloorServer(database.url, start),
    startService({ DATABASE_URL: database.url, ACK_MODE: AckMode.durable, ...options.serviceEnv }, start)
  ])
  const servers = started.flatMap(s => s.status === 'fulfilled' ? [s.value] : [])
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failed !== undefined) {
    await Promise.all(servers.map(async server => await server.stop()))
    throw failed.reason
  }
  const [ceiling, floor, service] = servers as [RunningServer, RunningServer, RunningServer]
  return [
    { contender: PairedContender.ceiling, server: ceiling, stores: false, windows: [] },
    { contender: PairedContender.floor, server: floor, stores: true, windows: [] },
    { contender: PairedContender.service, server: service, stores: true, windows: [] }
  ]
}

async function run (context: ScenarioContext): Promise<ScenarioResult[]> {
  const { options, database, progress } = context
  await database.reset()
  const running = await startAll(context)
  const rounds = options.smoke ? 1 : ROUNDS
  const seconds = Math.min(WINDOW_SECONDS, options.duration)
  try {
    const windows = await alternate(running.map(r => ({ name: `${GROUP}/${r.contender}`, server: r.server, stores: r.stores })), {
      database,
      body: bodySource({ kind: BodyKind.single, events: 1 }, { seconds: options.duration }),
      connections: options.connections,
      rounds,
      windowSeconds: seconds,
      warmupSeconds: options.warmup,
      progress
    })
    running.forEach((r, i) => {
      r.windows = windows[i]!
      r.peakRssBytes = r.server.peakRssBytes()
    })
  } finally {
    await Promise.all(running.map(async r => await r.server.stop()))
  }
  return running.map(r => resultOf(r, context, { rounds, seconds }))
}

/** The window with the median req/s (the lower middle of an even count). */
function medianWindow (windows: readonly Window[]): Window {
  const sorted = [...windows].sort((a, b) => a.load.requestsPerSecond - b.load.requestsPerSecond)
  return sorted[Math.floor((sorted.length - 1) / 2)]!
}

/** Every window's check in one: passed if all passed, counts summed, the first failure's message. */
function allWindows (windows: readonly Window[]): NoLossCheck | undefined {
  const checks = windows.flatMap(w => w.noLoss === undefined ? [] : [w.noLoss])
  if (checks.length === 0) return undefined
  const sum = (f: (c: NoLossCheck) => number): number => checks.reduce((n, c) => n + f(c), 0)
  const failed = checks.find(c => !c.passed)
  return {
    passed: failed === undefined,
    acked: sum(c => c.acked),
    unansweredEvents: sum(c => c.unansweredEvents),
    storedAtEnd: sum(c => c.storedAtEnd),
    stored: sum(c => c.stored),
    message: failed?.message ?? `ok in each of ${checks.length} windows: ${sum(c => c.stored)} rows = ${sum(c => c.acked)} acknowledged + ${sum(c => c.stored - c.acked)} from unanswered requests`
  }
}

function resultOf (r: Running, { options }: ScenarioContext, { rounds, seconds }: { rounds: number, seconds: number }): ScenarioResult {
  const median = medianWindow(r.windows)
  const byRound = [...r.windows].sort((a, b) => a.round - b.round)
  const busyShare = byRound.map(w => ownBusyCores(w.cpu) / cores)
  const eventsPerSecond = median.noLoss === undefined ? undefined : median.noLoss.stored / median.load.seconds
  const noLoss = allWindows(r.windows)
  const statusCodes: Record<string, number> = {}
  for (const w of r.windows) for (const [code, n] of Object.entries(w.load.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n
  return {
    name: `${GROUP}/${r.contender}`,
    description: `${r.contender} in ${rounds} rounds of ${seconds}-s windows, interleaved with the other two: the window with the median req/s`,
    config: {
      target: ENTRY[r.contender],
      route: 'POST /data',
      connections: options.connections,
      rounds,
      windowSeconds: seconds,
      order: 'ceiling-http, floor-durable, single-durable, rotated by one each round',
      ...(r.contender === PairedContender.service ? { env: { ACK_MODE: AckMode.durable, ...options.serviceEnv, note: 'service defaults otherwise; DATABASE_URL = the bench database' } } : {}),
      warmupSeconds: options.warmup
    },
    seconds: median.load.seconds,
    requestsPerSecond: median.load.requestsPerSecond,
    ...(eventsPerSecond !== undefined ? { eventsPerSecond, cpuPerEvent: cpuPerEvent(median.cpu, eventsPerSecond, { service: true }) } : {}),
    ...(median.load.latencyMs !== undefined ? { latencyMs: median.load.latencyMs } : {}),
    non2xx: r.windows.reduce((n, w) => n + w.load.non2xx, 0),
    errors: r.windows.reduce((n, w) => n + w.load.errors, 0),
    statusCodes,
    ...(r.peakRssBytes !== undefined ? { peakRssBytes: r.peakRssBytes } : {}),
    ...(noLoss !== undefined ? { noLoss } : {}),
    cpu: median.cpu,
    paired: {
      contender: r.contender,
      rounds: byRound.map(w => w.load.requestsPerSecond),
      busyShare: busyShare.map(thousandths),
      sleepsPerAnswer: byRound.map(w => thousandths(w.sleepsPerAnswer))
    },
    notes: [
      `req/s by round: ${byRound.map(w => Math.round(w.load.requestsPerSecond)).join(', ')}; latency and CPU of the median window (round ${median.round + 1})`,
      formatCpu(median.cpu),
      `stolen by the host, cores, by round: ${byRound.map(w => w.cpu.stealCores).join(', ')}`,
      `share of the cores busy, by round: ${busyShare.map(share => share.toFixed(2)).join(', ')}`,
      `the server went to sleep, times an answer, by round: ${byRound.map(w => w.sleepsPerAnswer.toFixed(2)).join(', ')}`
    ]
  }
}

export const pairedScenario: Scenario = {
  name: GROUP,
  description: 'ceiling-http, floor-durable (the least durable writer on this schema) and single-durable taking turns in short windows: the ratios with the host\'s drift shared',
  usesService: true,
  run
}
