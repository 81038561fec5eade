/**
 * The closed loop's latency bound, measured: the no-op route (ceiling-http) beside the same route
 * holding each answer for back-to-back pretend flushes of N ms and nothing else
 * (lib/run/hold-server.ts), and beside them the floor and the service — all on one bench database,
 * loaded in turn as the paired scenario loads its servers (short windows, the order rotated each
 * round). Each server's req/s ÷ the ceiling's, the median of the rounds' ratios, places the durable
 * writers on the curve of what waiting alone costs:
 *
 *   npx tsx bench/hold-curve.ts [--hold 1,2,3,4] [--rounds 5] [--window 5] [--warmup 4] [--connections 100]
 *
 * Also each one's CPU per answer (the server, PostgreSQL, the load generator and the machine's
 * busy cores, the host's steal left out), how often its server went to sleep an answer, and the
 * p50 of its answers; the service's mean flush.
 */
import { parseArgs } from 'node:util'
import { metricTotal, scrapeMetrics } from '../harness/prometheus-text.js'
import { AckMode } from '../src/config.js'
import { BodyKind, bodySource } from './lib/load/bodies.js'
import { ownBusyCores } from './lib/measure/busy-cores.js'
import { median } from './lib/report/ratios.js'
import { alternate, type Contender, type Window } from './lib/run/alternating.js'
import { openBenchDatabase } from './lib/run/database.js'
import { choosePinning } from './lib/run/pinning.js'
import { startCeilingServer, startFloorServer, startHoldServer, startService, type RunningServer } from './lib/run/processes.js'

const { values } = parseArgs({
  options: {
    hold: { type: 'string', default: '1,2,3,4' },
    rounds: { type: 'string', default: '5' },
    window: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '4' },
    connections: { type: 'string', default: '100' }
  }
})
const holdTexts = values.hold.split(',')
const holds = holdTexts.map(text => text.trim() === '' ? Number.NaN : Number(text))
const counts = { rounds: Number(values.rounds), window: Number(values.window), warmup: Number(values.warmup), connections: Number(values.connections) }
if (holds.some(ms => !Number.isFinite(ms) || ms < 0 || ms > 60_000) || Object.values(counts).some(n => !Number.isSafeInteger(n) || n < 0) || counts.rounds < 1 || counts.window < 1 || counts.connections < 1) {
  console.error('usage: npx tsx bench/hold-curve.ts [--hold <ms,…> (0–60000)] [--rounds <n ≥ 1>] [--window <s ≥ 1>] [--warmup <s>] [--connections <n ≥ 1>]')
  process.exit(2)
}

const database = await openBenchDatabase(choosePinning(false))
const servers: RunningServer[] = []
const started = async (server: Promise<RunningServer>): Promise<RunningServer> => { const s = await server; servers.push(s); return s }
let contenders: Contender[] = []
let windows: Window[][]
let flushes: { count: number, seconds: number } | undefined
try {
  contenders = [
    { name: 'ceiling-http', server: await started(startCeilingServer({})), stores: false },
    ...await holds.reduce<Promise<Contender[]>>(async (list, ms) => [...await list, { name: `hold ${ms} ms`, server: await started(startHoldServer(ms, {})), stores: false }], Promise.resolve([])),
    { name: 'floor-durable', server: await started(startFloorServer(database.url, {})), stores: true },
    { name: 'single-durable', server: await started(startService({ DATABASE_URL: database.url, ACK_MODE: AckMode.durable }, {})), stores: true }
  ]
  const service = contenders.at(-1)!.server
  const before = await scrapeMetrics(service.url)
  windows = await alternate(contenders, {
    database,
    body: bodySource({ kind: BodyKind.single, events: 1 }, { seconds: counts.window }),
    connections: counts.connections,
    rounds: counts.rounds,
    windowSeconds: counts.window,
    warmupSeconds: counts.warmup,
    progress: line => { if (/ round \d+: /.test(line)) console.log(line) }
  })
  const after = await scrapeMetrics(service.url)
  const delta = (name: string): number => (metricTotal(after, name) ?? 0) - (metricTotal(before, name) ?? 0)
  flushes = { count: delta('ingest_flush_duration_seconds_count'), seconds: delta('ingest_flush_duration_seconds_sum') }
} finally {
  await Promise.all(servers.map(async server => await server.stop()))
  await database.stop()
}

const ceiling = windows[0]!.map(w => w.load.requestsPerSecond)
console.log('\n| server | req/s (median) | ÷ ceiling-http (median of rounds) | CPU µs/answer server / PostgreSQL / load generator / machine | the server slept, times an answer (median) | p50 ms |')
console.log('|---|---:|---:|---|---:|---:|')
for (const [i, c] of contenders.entries()) {
  const side = windows[i]!
  const rps = side.map(w => w.load.requestsPerSecond)
  const micros = (cores: (w: Window) => number): string => median(side.map(w => cores(w) * 1e6 / w.load.requestsPerSecond)).toFixed(0)
  const cpu = [micros(w => w.cpu.serverCores ?? 0), micros(w => w.cpu.databaseCores ?? 0), micros(w => w.cpu.runnerCores), micros(w => ownBusyCores(w.cpu))].join(' / ')
  const p50 = median(side.map(w => w.load.latencyMs?.p50 ?? Number.NaN)).toFixed(2)
  const sleeps = median(side.map(w => w.sleepsPerAnswer)).toFixed(2)
  console.log(`| ${c.name} | ${Math.round(median(rps)).toLocaleString('en')} | ${median(rps.map((r, round) => r / ceiling[round]!)).toFixed(2)}× | ${cpu} | ${sleeps} | ${p50} |`)
}
if (flushes !== undefined && flushes.count > 0) console.log(`\nsingle-durable: ${flushes.count} flushes over its warm-up and windows, ${(flushes.seconds / flushes.count * 1000).toFixed(2)} ms each on average`)
if (windows.flat().some(w => w.noLoss?.passed === false)) {
  console.error('no-loss check FAILED in a window (above)')
  process.exit(1)
}
