/**
 * One HTTP scenario: start the server, warm it up (not recorded), empty the tables, load it for
 * the measured window, then count what the database holds and check it against the 2xx answers.
 */
import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { bodySource, type BodySpec } from './bodies.js'
import { summariseProfileFile } from './cpu-profile.js'
import { cpuUsage, formatCpu, readCpu, type CpuUsage } from './cpu-usage.js'
import { formatIo, ioUsage, readIo, type IoUsage } from './io-usage.js'
import { waitForDrain } from './drain.js'
import { runLoad, type LoadResult } from './load.js'
import { AckMode, checkNoLoss, type NoLossCheck } from './no-loss.js'
import { formatWaits, sampleWaits, type WaitShare } from './wait-events.js'
import { resetStatements, topStatements, type StatementShare } from './statements.js'
import { formatWindowMetrics, scrape, windowMetrics, type WindowMetrics } from './service-metrics.js'
import type { BenchOptions } from './options.js'
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario.js'
import { startCeilingServer, startService, type RunningServer } from './server.js'

export interface HttpScenarioSpec {
  name: string
  description: string
  /** The real service (dist/server.js), or the no-op ceiling server. */
  target: 'service' | 'ceiling'
  route: '/data' | '/data/batch'
  body: BodySpec
  /** The service's environment on top of its defaults (ACK_MODE, FLUSH_MAX_ROWS, …). */
  env?: Record<string, string>
  connections: (options: BenchOptions) => number
}

export function httpScenario (spec: HttpScenarioSpec): Scenario {
  return { name: spec.name, description: spec.description, usesService: spec.target === 'service', run: async context => await runHttpScenario(spec, context) }
}

async function runHttpScenario (spec: HttpScenarioSpec, context: ScenarioContext): Promise<ScenarioResult> {
  const { options, database, pinning, progress } = context
  const connections = spec.connections(options)
  const env = { ...spec.env, ...(spec.target === 'service' ? options.serviceEnv : {}) }
  const ackMode = env.ACK_MODE === AckMode.buffered ? AckMode.buffered : AckMode.durable
  const stores = spec.target === 'service'
  const body = bodySource(spec.body, { seconds: options.duration })
  const profileDir = context.profileDir !== undefined && stores ? join(context.profileDir, spec.name) : undefined
  if (profileDir !== undefined) await mkdir(profileDir, { recursive: true })

  const start = {
    prefix: pinning.serverCommand,
    // The profile is written when the process exits: SIGTERM → drain → exit.
    ...(profileDir !== undefined ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {})
  }
  let server: RunningServer
  if (stores) {
    await database.reset()
    server = await startService({ DATABASE_URL: database.url, ...env }, start)
  } else {
    server = await startCeilingServer({}, start)
  }

  const url = `${server.url}${spec.route}`
  const load = async (phase: string, seconds: number): Promise<LoadResult> =>
    await runLoad({ label: `${spec.name} ${phase}`, url, connections, seconds, body, progress })

  let result: LoadResult
  let noLoss: NoLossCheck | undefined
  let drainSeconds: number | undefined
  let peakRssBytes: number | undefined
  let service: WindowMetrics | undefined
  let cpu: CpuUsage | undefined
  let io: IoUsage | undefined
  let statements: StatementShare[] | undefined
  let waits: WaitShare[] | undefined
  try {
    if (options.warmup > 0) {
      await load('warm-up', options.warmup)
      if (stores) {
        await waitForDrain(server.url)
        await database.reset()
      }
      body.rewind()
    }
    const before = stores ? await scrape(server.url) : undefined
    if (stores && database.statements) await resetStatements(database.sql)
    const ioBefore = stores ? await readIo(database.sql) : undefined
    const cpuBefore = readCpu(server.pid, database.serverPid)
    // The service names its connections (src/database/client.ts): its writers and one spare.
    const sampler = stores ? sampleWaits(database.sql, 'metrics-ingest') : undefined
    result = await load('measure', options.duration)
    cpu = cpuUsage(cpuBefore, readCpu(server.pid, database.serverPid))
    waits = await sampler?.stop()
    const ioAfter = stores ? await readIo(database.sql) : undefined
    progress(`${spec.name} ${formatCpu(cpu)}`)
    // A 4xx is a harness bug (the bodies are meant to be valid), a 500 a service bug: either
    // makes the figures meaningless, so the run fails instead of reporting them.
    if (result.firstUnexpected !== undefined) {
      const count = Object.entries(result.statusCodes).filter(([code]) => !code.startsWith('2') && code !== '503').reduce((n, [, c]) => n + c, 0)
      throw new Error(`${count} unexpected answers, the first: ${result.firstUnexpected.statusCode} ${result.firstUnexpected.body}`)
    }
    if (stores) {
      const storedAtEnd = await database.countEvents()
      io = ioUsage(ioBefore!, ioAfter!, storedAtEnd)
      progress(`${spec.name} ${formatIo(io)}`)
      if (waits !== undefined) progress(`${spec.name} ${formatWaits(waits)}`)
      drainSeconds = await waitForDrain(server.url)
      const storedAfterDrain = await database.countEvents()
      if (database.statements) statements = await topStatements(database.sql)
      service = windowMetrics(before!, await scrape(server.url))
      progress(`${spec.name} ${formatWindowMetrics(service)}`)
      noLoss = checkNoLoss({
        ackMode,
        eventsPerRequest: body.eventsPerRequest,
        ok: result.ok,
        sent: result.sent,
        responses: result.responses,
        storedAtEnd,
        storedAfterDrain
      })
      progress(`${spec.name} no-loss: ${noLoss.message}`)
    }
    peakRssBytes = server.peakRssBytes()
  } finally {
    const code = await server.stop()
    if (code !== 0 && code !== null) progress(`${spec.name}: the server exited with ${code}`)
  }

  const notes = [
    service === undefined ? undefined : formatWindowMetrics(service),
    cpu === undefined ? undefined : formatCpu(cpu),
    io === undefined ? undefined : formatIo(io),
    waits === undefined ? undefined : formatWaits(waits)
  ].filter(note => note !== undefined)
  if (body.builtDuringRun > 0) notes.push(`${body.builtDuringRun} gzip bodies were compressed during the run (the pre-built ones ran out): client CPU taken from the server`)
  const profile = profileDir === undefined ? undefined : await profileOf(profileDir)

  return {
    name: spec.name,
    description: spec.description,
    config: {
      target: spec.target === 'service' ? 'dist/server.js' : 'bench/lib/ceiling-server.ts',
      route: `POST ${spec.route}`,
      body: spec.body,
      connections,
      env: stores ? { ...env, note: 'service defaults otherwise; DATABASE_URL = the bench database' } : {},
      warmupSeconds: options.warmup
    },
    seconds: result.seconds,
    requestsPerSecond: result.requestsPerSecond,
    ...(noLoss !== undefined ? { eventsPerSecond: noLoss.stored / result.seconds } : {}),
    ...(result.latencyMs !== undefined ? { latencyMs: result.latencyMs } : {}),
    non2xx: result.non2xx,
    errors: result.errors,
    statusCodes: result.statusCodes,
    ...(peakRssBytes !== undefined ? { peakRssBytes } : {}),
    ...(drainSeconds !== undefined ? { drainSeconds } : {}),
    ...(noLoss !== undefined ? { noLoss } : {}),
    ...(service !== undefined ? { service } : {}),
    ...(cpu !== undefined ? { cpu } : {}),
    ...(io !== undefined ? { io } : {}),
    ...(statements !== undefined ? { statements } : {}),
    ...(waits !== undefined ? { waits } : {}),
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
