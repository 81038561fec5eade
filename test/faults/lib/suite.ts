/**
 * Runs scenarios one after another on one PostgreSQL cluster (a database of their own each),
 * for the CLI (run.ts) and the tap test alike.
 */
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PostgresCluster } from './postgres.js'
import { resultDetails, resultLine } from './report.js'
import type { Profile, Scenario, ScenarioContext, ScenarioResult } from './scenario.js'

export interface Suite {
  /** Runs one scenario, bounded by `timeoutMs`; a throw or a timeout is a failed result. */
  run: (scenario: Scenario) => Promise<ScenarioResult>
  /** Stops the cluster and removes its files; the service logs stay in `logDir` when `keepLogs`. */
  close: (keepLogs: boolean) => Promise<void>
  logDir: string
}

export async function openSuite (options: { entry: string, profile: Profile, timeoutMs: number, print: (line: string) => void }): Promise<Suite> {
  const base = await mkdtemp(join(tmpdir(), 'metrics-ingest-faults-'))
  // PostgreSQL runs as the `postgres` user when we are root: it must reach its directory in here.
  await chmod(base, 0o755)
  const logDir = join(base, 'logs')
  await mkdir(logDir)
  const cluster = await PostgresCluster.create(base)
  await cluster.start()
  const context: ScenarioContext = { cluster, entry: options.entry, profile: options.profile, logDir, note: line => { options.print(`  · ${line}`) } }
  options.print(`PostgreSQL on 127.0.0.1:${cluster.port}; service ${options.entry}; profile ${options.profile.name}; logs in ${logDir} (kept if anything fails)`)
  // A scenario that timed out may still be stopping or starting the cluster: run nothing after it.
  let timedOut: string | undefined

  return {
    logDir,
    run: async scenario => {
      const started = performance.now()
      options.print(`▶ ${scenario.name}: ${scenario.title}`)
      if (timedOut !== undefined) {
        const result = failedRun(scenario.name, `not run: ${timedOut} timed out and may still hold the database`, started)
        options.print(resultLine(result))
        return result
      }
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          timedOut = scenario.name
          reject(new Error(`did not finish within ${options.timeoutMs / 1000} s`))
        }, options.timeoutMs)
      })
      let result: ScenarioResult
      try {
        result = await Promise.race([scenario.run(context), timeout])
      } catch (err) {
        result = failedRun(scenario.name, err, started)
        if (timedOut === scenario.name) delete result.facts.stack
        const tail = await cluster.logTail(10)
        if (tail !== '') result.facts['postgres log'] = `\n${tail}`
      } finally {
        clearTimeout(timer)
      }
      options.print(resultLine(result))
      for (const line of resultDetails(result)) options.print(line)
      return result
    },
    close: async keepLogs => {
      await cluster.destroy()
      if (!keepLogs) await rm(base, { recursive: true, force: true })
    }
  }
}

function failedRun (scenario: string, err: unknown, started: number): ScenarioResult {
  return {
    scenario,
    acked: 0,
    stored: 0,
    lost: 0,
    lostSample: [],
    duplicates: 0,
    unacked: 0,
    requests: 0,
    fiveXx: 0,
    unexpected5xx: 0,
    status503: 0,
    peakRssBytes: 0,
    facts: err instanceof Error && err.stack !== undefined ? { stack: `\n${err.stack}` } : {},
    failures: [`the scenario failed to run: ${err instanceof Error ? err.message : String(err)}`],
    seconds: (performance.now() - started) / 1000
  }
}
