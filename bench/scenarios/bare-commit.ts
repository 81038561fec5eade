/**
 * A baseline, not HTTP: what one minimal transaction costs on this database — `begin; insert one
 * row; commit` through postgres.js, one after another. Its p50 is the floor under light-load's
 * p50: a durable answer cannot come before its commit.
 */
import { cpuUsage, formatCpu, readCpu } from '../lib/measure/cpu-usage.js'
import { formatIo, ioUsage, readIo } from '../lib/measure/io-usage.js'
import { Samples } from '../lib/measure/latency.js'
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.js'

async function commitFor (context: ScenarioContext, seconds: number, label: string, firstId: number): Promise<{ samples: Samples, seconds: number }> {
  const { database, progress } = context
  const samples = new Samples()
  const started = performance.now()
  const deadline = started + seconds * 1000
  let nextTick = started + 1000
  let lastCount = 0
  let id = firstId
  while (performance.now() < deadline) {
    const t0 = performance.now()
    const userId = id++
    await database.sql.begin(async tx => {
      await tx`insert into users (user_id, name, email, profile_at) values (${userId}, 'Bare Commit', 'bare@example.com', now())`
    })
    const t1 = performance.now()
    samples.push(t1 - t0)
    if (t1 >= nextTick) {
      const second = Math.round((t1 - started) / 1000)
      progress(`${label}  ${second}/${seconds} s  ${samples.length - lastCount} commits/s`)
      lastCount = samples.length
      nextTick += 1000
    }
  }
  return { samples, seconds: (performance.now() - started) / 1000 }
}

async function run (context: ScenarioContext): Promise<ScenarioResult> {
  const { options, database } = context
  await database.reset()
  if (options.warmup > 0) await commitFor(context, options.warmup, 'bare-commit warm-up', 1_000_000_000)
  await database.reset()
  const ioBefore = await readIo(database.sql)
  const cpuBefore = readCpu(undefined, database.serverPid)
  const { samples, seconds } = await commitFor(context, options.duration, 'bare-commit measure', 1)
  const cpu = cpuUsage(cpuBefore, readCpu(undefined, database.serverPid))
  const io = ioUsage(ioBefore, await readIo(database.sql), samples.length)
  context.progress(`bare-commit ${formatCpu(cpu)}`)
  context.progress(`bare-commit ${formatIo(io)}`)
  await database.reset()
  const latencyMs = samples.summary()
  return {
    name: bareCommit.name,
    description: bareCommit.description,
    config: { statement: 'begin; insert into users … (one row); commit', connection: 'postgres.js, one connection, sequential', warmupSeconds: options.warmup },
    seconds,
    requestsPerSecond: samples.length / seconds,
    ...(latencyMs !== undefined ? { latencyMs } : {}),
    cpu,
    io,
    notes: ['req/s is commits a second, one at a time; latency is one begin/insert/commit round', formatCpu(cpu), formatIo(io)]
  }
}

export const bareCommit: Scenario = {
  name: 'bare-commit',
  description: 'begin; insert one row; commit — sequential, postgres.js: the cost of one durable commit',
  usesService: false,
  run
}
