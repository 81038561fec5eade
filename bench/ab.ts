/**
 * Two builds of the service, A and B, measured as the paired scenario measures its three servers:
 * both running at once on one bench database, taking single-durable's load in turn — short
 * windows, round after round, the order swapped each round — so the host's drift falls on both.
 * For a lever worth a few per cent, which two separate runs cannot tell from the drift: build each
 * commit in a worktree of its own, then
 *
 *   npx tsx bench/ab.ts ../before/dist/server.js dist/server.js [--rounds 8] [--window 6] [--warmup 5]
 *
 * Or one build under two settings: `npx tsx bench/ab.ts dist/server.js dist/server.js --b-env
 * FLUSH_CONCURRENCY=1` (`--a-env`/`--b-env KEY=VALUE`, repeatable, on top of ACK_MODE=durable).
 *
 * `--live N`: live-traffic's events instead of the replayed pool (stamped as sent, a new session
 * every N events of a user; lib/load/live-events.ts).
 *
 * Prints each round's req/s and B ÷ A, the medians, and the CPU per request of each. Every window
 * is checked for loss. A build runs with its own node_modules when it has them (a worktree after
 * `npm ci`), else with the ones its path resolves to.
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { AckMode } from '../src/config.js'
import { BodyKind, bodySource } from './lib/load/bodies.js'
import { median } from './lib/report/ratios.js'
import { alternate, type Contender, type Window } from './lib/run/alternating.js'
import { openBenchDatabase } from './lib/run/database.js'
import { parseSettings } from './lib/run/options.js'
import { choosePinning } from './lib/run/pinning.js'
import { startProcess } from './lib/run/processes.js'

const { values, positionals } = parseArgs({
  options: { rounds: { type: 'string', default: '8' }, window: { type: 'string', default: '6' }, warmup: { type: 'string', default: '5' }, connections: { type: 'string', default: '100' }, 'a-env': { type: 'string', multiple: true, default: [] }, 'b-env': { type: 'string', multiple: true, default: [] }, live: { type: 'string' } },
  allowPositionals: true
})
if (positionals.length !== 2) {
  console.error('usage: npx tsx bench/ab.ts <A: dist/server.js of one build> <B: of the other> [--rounds 8] [--window 6] [--warmup 5] [--connections 100] [--a-env KEY=VALUE …] [--b-env KEY=VALUE …] [--live <events per session>]')
  process.exit(2)
}
const windowSeconds = Number(values.window)
const live = values.live === undefined ? undefined : Number(values.live)
if (live !== undefined && (!Number.isSafeInteger(live) || live < 1)) {
  console.error(`--live takes the events per session, a positive integer: got ${values.live}`)
  process.exit(2)
}
let sideEnvs: Array<Record<string, string>>
try {
  sideEnvs = [parseSettings('a-env', values['a-env']), parseSettings('b-env', values['b-env'])]
} catch (err) {
  console.error((err as Error).message)
  process.exit(2)
}

const database = await openBenchDatabase(choosePinning(false))
const sides: Contender[] = []
let windows: Window[][]
try {
  for (const [i, entry] of positionals.entries()) {
    const env = sideEnvs[i]!
    const server = await startProcess(resolve(entry), { DATABASE_URL: database.url, ACK_MODE: AckMode.durable, ...env }, {})
    const settings = Object.entries(env).map(([key, value]) => ` ${key}=${value}`).join('')
    sides.push({ name: `${i === 0 ? 'A' : 'B'} ${entry}${settings}`, server, stores: true })
  }
  windows = await alternate(sides, {
    database,
    body: bodySource({ kind: BodyKind.single, events: 1, ...(live === undefined ? {} : { live: { eventsPerSession: live } }) }, { seconds: windowSeconds }),
    connections: Number(values.connections),
    rounds: Number(values.rounds),
    windowSeconds,
    warmupSeconds: Number(values.warmup),
    progress: line => { if (line.includes(' round ') && !line.includes('/s  (mean')) console.log(line) }
  })
} finally {
  await Promise.all(sides.map(async side => await side.server.stop()))
  await database.stop()
}

const rps = windows.map(side => side.map(w => w.load.requestsPerSecond))
for (const [i, side] of sides.entries()) {
  const micros = (cores: (w: Window) => number | undefined): string => median(windows[i]!.map(w => (cores(w) ?? 0) * 1e6 / w.load.requestsPerSecond)).toFixed(1)
  console.log(`${side.name}: req/s ${rps[i]!.map(Math.round).join(', ')} — median ${Math.round(median(rps[i]!))}; CPU µs/request service ${micros(w => w.cpu.serverCores)}, PostgreSQL ${micros(w => w.cpu.databaseCores)} (medians)`)
}
const ratios = rps[0]!.map((a, round) => rps[1]![round]! / a)
console.log(`B ÷ A by round: ${ratios.map(r => r.toFixed(3)).join(', ')} — median ${median(ratios).toFixed(3)}`)
if (windows.flat().some(w => w.noLoss?.passed === false)) {
  console.error('no-loss check FAILED in a window (above)')
  process.exit(1)
}
