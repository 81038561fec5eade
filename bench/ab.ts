/**
 * Two builds of the service, A and B, measured as the paired scenario measures its three servers:
 * both running at once on one bench database, taking single-durable's load in turn — short
 * windows, round after round, the order swapped each round — so the host's drift falls on both.
 * For a lever worth a few per cent, which two separate runs cannot tell from the drift: build each
 * commit in a worktree of its own, then
 *
 *   npx tsx bench/ab.ts ../before/dist/server.js dist/server.js [--rounds 8] [--window 6] [--warmup 5]
 *
 * Prints each round's req/s and B ÷ A, the medians, and the CPU per request of each. Every window
 * is checked for loss. A build runs with its own node_modules when it has them (a worktree after
 * `npm ci`), else with the ones its path resolves to.
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { AckMode } from '../src/config.js'
import { runLoad } from './lib/load/autocannon.js'
import { BodyKind, bodySource } from './lib/load/bodies.js'
import { cpuUsage, readCpu } from './lib/measure/cpu-usage.js'
import { waitForDrain } from './lib/measure/drain.js'
import { checkNoLoss } from './lib/measure/no-loss.js'
import { median } from './lib/report/ratios.js'
import { openBenchDatabase } from './lib/run/database.js'
import { choosePinning } from './lib/run/pinning.js'
import { startProcess, type RunningServer } from './lib/run/processes.js'

const { values, positionals } = parseArgs({
  options: { rounds: { type: 'string', default: '8' }, window: { type: 'string', default: '6' }, warmup: { type: 'string', default: '5' }, connections: { type: 'string', default: '100' } },
  allowPositionals: true
})
if (positionals.length !== 2) {
  console.error('usage: npx tsx bench/ab.ts <A: dist/server.js of one build> <B: of the other> [--rounds 8] [--window 6] [--warmup 5] [--connections 100]')
  process.exit(2)
}
const rounds = Number(values.rounds)
const seconds = Number(values.window)
const connections = Number(values.connections)

interface Side { name: string, server: RunningServer, rps: number[], serviceMicros: number[], databaseMicros: number[] }

const database = await openBenchDatabase(choosePinning(false))
const sides: Side[] = []
let failed = false
try {
  for (const [i, entry] of positionals.entries()) {
    const server = await startProcess(resolve(entry), { DATABASE_URL: database.url, ACK_MODE: AckMode.durable }, {})
    sides.push({ name: `${i === 0 ? 'A' : 'B'} ${entry}`, server, rps: [], serviceMicros: [], databaseMicros: [] })
  }
  const body = bodySource({ kind: BodyKind.single, events: 1 }, { seconds })
  const progress = (): void => {}
  for (const side of sides) await runLoad({ label: 'warm-up', url: `${side.server.url}/data`, connections, seconds: Number(values.warmup), body, progress })
  for (const side of sides) await waitForDrain(side.server.url)
  for (let round = 0; round < rounds; round++) {
    await database.emptyMetrics()
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      const rowsBefore = await database.countEvents()
      const cpuBefore = readCpu([side.server.pid], database.serverPid, {})
      const load = await runLoad({ label: side.name, url: `${side.server.url}/data`, connections, seconds, body, progress })
      const cpu = cpuUsage(cpuBefore, readCpu([side.server.pid], database.serverPid, {}))
      const storedAtEnd = await database.countEvents() - rowsBefore
      await waitForDrain(side.server.url)
      const noLoss = checkNoLoss({ ackMode: AckMode.durable, eventsPerRequest: 1, ok: load.ok, sent: load.sent, responses: load.responses, storedAtEnd, storedAfterDrain: await database.countEvents() - rowsBefore })
      if (!noLoss.passed || load.firstUnexpected !== undefined) {
        failed = true
        console.error(`${side.name}, round ${round + 1}: ${noLoss.message}${load.firstUnexpected !== undefined ? `; unexpected ${load.firstUnexpected.statusCode}` : ''}`)
      }
      side.rps.push(load.requestsPerSecond)
      side.serviceMicros.push((cpu.serverCores ?? 0) * 1e6 / load.requestsPerSecond)
      side.databaseMicros.push((cpu.databaseCores ?? 0) * 1e6 / load.requestsPerSecond)
      console.log(`round ${round + 1} ${side.name}: ${Math.round(load.requestsPerSecond)} req/s, stolen by the host ${cpu.stealCores} cores`)
    }
  }
} finally {
  await Promise.all(sides.map(async side => await side.server.stop()))
  await database.stop()
}

const [a, b] = sides as [Side, Side]
const ratios = a.rps.map((x, i) => b.rps[i]! / x)
for (const side of sides) {
  console.log(`${side.name}: req/s ${side.rps.map(Math.round).join(', ')} — median ${Math.round(median(side.rps))}; CPU µs/request service ${median(side.serviceMicros).toFixed(1)}, PostgreSQL ${median(side.databaseMicros).toFixed(1)} (medians)`)
}
console.log(`B ÷ A by round: ${ratios.map(r => r.toFixed(3)).join(', ')} — median ${median(ratios).toFixed(3)}`)
if (failed) process.exit(1)
