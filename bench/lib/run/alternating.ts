/**
 * Servers that take one load in turn on one bench database: short windows, round after round, the
 * order rotated each round, each round on an empty user_metrics (users and sessions stay). The
 * host's drift — the CPU it takes from this VM moves by the minute — then falls on all of them
 * alike, and round i of each ran within the same minute. The paired scenario and bench/ab.ts both
 * measure this way. Every window of a storing server is checked for loss; an answer neither 2xx
 * nor 503 fails the run.
 */
import { AckMode } from '../../../src/config.js'
import { runLoad, type LoadResult } from '../load/autocannon.js'
import type { BodySource } from '../load/bodies.js'
import { cpuUsage, formatCpu, readCpu, type CpuUsage } from '../measure/cpu-usage.js'
import { waitForDrain } from '../measure/drain.js'
import { sleepsOf } from '../measure/sleeps.js'
import { checkNoLoss, type NoLossCheck } from '../measure/no-loss.js'
import type { BenchDatabase } from './database.js'
import type { RunningServer } from './processes.js'

export interface Contender {
  name: string
  server: RunningServer
  /** It writes to the bench database (durable single events): its windows are checked for loss. */
  stores: boolean
}

export interface Window {
  round: number
  load: LoadResult
  cpu: CpuUsage
  /** How often the server went to sleep over the window, per answer (measure/sleeps.ts). */
  sleepsPerAnswer: number
  /** A storing server's: the rows its window added against its 2xx answers. */
  noLoss?: NoLossCheck
}

export interface AlternationOptions {
  database: BenchDatabase
  body: BodySource
  connections: number
  rounds: number
  windowSeconds: number
  /** Unrecorded load for each before the first round; 0: none. */
  warmupSeconds: number
  progress: (line: string) => void
}

/** Round r's order: the contenders rotated by r, so each takes each place in turn. */
export function roundOrder<T> (items: readonly T[], round: number): T[] {
  const shift = round % items.length
  return [...items.slice(shift), ...items.slice(0, shift)]
}

/** Each contender's windows, in round order, in the order the contenders were given. */
export async function alternate (contenders: readonly Contender[], options: AlternationOptions): Promise<Window[][]> {
  const { database, body, connections, progress } = options
  const load = async (c: Contender, phase: string, seconds: number): Promise<LoadResult> =>
    await runLoad({ label: `${c.name} ${phase}`, url: `${c.server.url}/data`, connections, seconds, body, progress })
  if (options.warmupSeconds > 0) {
    for (const c of contenders) await load(c, 'warm-up', options.warmupSeconds)
    for (const c of contenders) if (c.stores) await waitForDrain(c.server.url)
  }
  const windows = new Map<Contender, Window[]>(contenders.map(c => [c, []]))
  for (let round = 0; round < options.rounds; round++) {
    await database.emptyMetrics()
    for (const c of roundOrder(contenders, round)) {
      const window = await measure(c, round, options, async () => await load(c, `round ${round + 1}/${options.rounds}`, options.windowSeconds))
      windows.get(c)!.push(window)
    }
  }
  return contenders.map(c => windows.get(c)!)
}

async function measure (c: Contender, round: number, { database, progress }: AlternationOptions, load: () => Promise<LoadResult>): Promise<Window> {
  const rowsBefore = c.stores ? await database.countEvents() : 0
  const cpuBefore = readCpu([c.server.pid], database.serverPid, {})
  const sleepsBefore = sleepsOf(c.server.pid)
  const result = await load()
  const cpu = cpuUsage(cpuBefore, readCpu([c.server.pid], database.serverPid, {}))
  const sleepsPerAnswer = result.responses > 0 ? (sleepsOf(c.server.pid) - sleepsBefore) / result.responses : 0
  progress(`${c.name} round ${round + 1}: ${Math.round(result.requestsPerSecond)} req/s; ${formatCpu(cpu)}; the server slept ${sleepsPerAnswer.toFixed(2)} times an answer`)
  if (result.firstUnexpected !== undefined) {
    throw new Error(`${c.name}: unexpected answer ${result.firstUnexpected.statusCode} ${result.firstUnexpected.body}`)
  }
  if (!c.stores) return { round, load: result, cpu, sleepsPerAnswer }
  const storedAtEnd = await database.countEvents() - rowsBefore
  await waitForDrain(c.server.url)
  const noLoss = checkNoLoss({
    ackMode: AckMode.durable,
    eventsPerRequest: 1,
    ok: result.ok,
    sent: result.sent,
    responses: result.responses,
    storedAtEnd,
    storedAfterDrain: await database.countEvents() - rowsBefore
  })
  if (!noLoss.passed) progress(`${c.name} round ${round + 1} no-loss: ${noLoss.message}`)
  return { round, load: result, cpu, sleepsPerAnswer, noLoss }
}
