/**
 * A --target run: the chosen scenarios a running deployment can take, one after another against
 * its URL; the others listed with why they were skipped. No service, no PostgreSQL and no build
 * are needed: nothing is started. Its report names the target and is never latest.*.
 */
import { describeMachine, revision } from '../measure/machine.js'
import { probeMetrics, targetMetrics, type TargetMetrics } from '../measure/target-metrics.js'
import { compare } from '../report/ratios.js'
import type { Run, ScenarioFailure, TargetSummary } from '../report/run-record.js'
import { targetLines } from '../report/table.js'
import type { Scenario, ScenarioResult } from '../scenario.js'
import { httpSpecOf } from './http-scenario.js'
import { UsageError, type BenchOptions, type TargetOptions } from './options.js'
import { commandLine, progressLine, report } from './outcome.js'
import { openTargetDatabase, type TargetDatabase } from './target-database.js'
import { runTargetScenario, targetSkipReason } from './target.js'

const REACH_TIMEOUT_MS = 10_000

/** Any HTTP answer means something listens there; undefined, or why nothing does. */
async function unreachable (url: string): Promise<string | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(REACH_TIMEOUT_MS) })
    await response.arrayBuffer()
    return undefined
  } catch (err) {
    const cause = (err as { cause?: { code?: string, message?: string } }).cause
    return cause?.code ?? cause?.message ?? (err as Error).message
  }
}

/**
 * Throws a UsageError when none of `scenarios` can run against a target (the caller exits 2);
 * otherwise runs those that can. True when none failed and every no-loss check made passed.
 */
export async function runTargetBench (scenarios: readonly Scenario[], options: BenchOptions, target: TargetOptions): Promise<boolean> {
  const skipped = scenarios.flatMap(s => { const reason = targetSkipReason(s); return reason === undefined ? [] : [{ name: s.name, reason }] })
  const runnable = scenarios.filter(s => targetSkipReason(s) === undefined)
  if (runnable.length === 0) {
    throw new UsageError(`none of ${scenarios.map(s => s.name).join(', ')} can run against a --target:\n${skipped.map(s => `  ${s.name}: ${s.reason}`).join('\n')}`)
  }
  const progress = progressLine(performance.now())
  const machine = describeMachine()
  const timestamp = new Date().toISOString()
  const summary: TargetSummary = {
    url: target.url,
    apiKey: target.apiKey !== undefined,
    ...(target.databaseUrl !== undefined ? { database: '' } : {}),
    metricsUrl: target.metricsUrl,
    metrics: '',
    skipped
  }
  const failures: ScenarioFailure[] = []
  const results: ScenarioResult[] = []
  let database: TargetDatabase | undefined
  let metrics: TargetMetrics | undefined
  let databaseRecord: Run['database'] = { version: 'not known (no --database-url)', settings: {}, where: 'not given (--database-url): no rows counted', pinning: 'not ours' }

  try {
    const unanswered = await unreachable(target.url)
    if (unanswered !== undefined) throw new Error(`${target.url} does not answer (${unanswered}): is the deployment up, and reachable from here?`)
    if (target.databaseUrl !== undefined) {
      database = await openTargetDatabase(target.databaseUrl)
      summary.database = database.where
      databaseRecord = { version: database.version, settings: database.settings, where: `the target's (--database-url ${database.where}), read-only: counted, never truncated`, pinning: 'not ours' }
    }
    const candidate = targetMetrics(target.metricsUrl, target.url, target.apiKey)
    const problem = await probeMetrics(candidate)
    if (problem === undefined) metrics = candidate
    summary.metrics = problem === undefined
      ? `${target.metricsUrl}/metrics — the drain and the service's own figures`
      : `out of reach (${problem}): ${database === undefined ? 'the drain is not waited for' : "the drain waits for this run's row count to hold still"}, no service figures`
    for (const line of targetLines(summary)) progress(line)
    progress(`${runnable.length} scenario(s): ${runnable.map(s => s.name).join(', ')}; ${options.warmup} s warm-up + ${options.duration} s each`)

    for (const scenario of runnable) {
      progress(`── ${scenario.name}: against ${target.url}`)
      try {
        results.push(await runTargetScenario(httpSpecOf(scenario)!, { options, target, ...(database !== undefined ? { database } : {}), ...(metrics !== undefined ? { metrics } : {}), progress }))
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err)
        failures.push({ name: scenario.name, error })
        progress(`${scenario.name} FAILED: ${error}`)
      }
    }
  } catch (err) {
    // Before any scenario: the target or its database out of reach.
    const error = err instanceof Error ? err.message : String(err)
    failures.push({ name: 'target', error })
    progress(`FAILED: ${error}`)
  } finally {
    await database?.stop()
  }

  const { target: _target, ...recorded } = options
  const run: Run = {
    timestamp,
    command: commandLine(),
    revision: revision(),
    machine,
    database: databaseRecord,
    pinning: 'not pinned: only the load generator (this process) runs here',
    options: recorded,
    target: summary,
    scenarios: results,
    failures,
    comparisons: compare(results),
    passed: failures.length === 0 && results.every(r => r.noLoss?.passed !== false)
  }
  return await report(run, { latest: false })
}
