/**
 * What every scenario shares: its inputs (the cluster, the service entry, the profile), its
 * result (the counts of one report line plus the checks that failed), and the common checks.
 */
import { join } from 'node:path'
import { summarise } from '../../../harness/percentiles.js'
import { reconcile, storedIds, type Ledger } from './accounting.js'
import { count5xx, startLoad, type Load, type LoadOptions, type LoadReport } from './load.js'
import type { PostgresCluster } from './postgres.js'
import { Service } from './service.js'

/** How long and how hard: `short` runs inside `npm test`, `full` is `npm run faults`. */
export interface Profile {
  name: 'short' | 'full'
  /** Load before the fault. */
  warmMs: number
  /** How long the database stays down. */
  outageMs: number
  /** Load after the database is back (at least until the first acknowledgement). */
  afterMs: number
  /** Load of a scenario without an outage. */
  loadMs: number
  singleWorkers: number
  batchWorkers: number
  batchSize: number
}

export const PROFILES: Record<Profile['name'], Profile> = {
  short: { name: 'short', warmMs: 1_000, outageMs: 1_500, afterMs: 1_500, loadMs: 2_500, singleWorkers: 6, batchWorkers: 4, batchSize: 50 },
  full: { name: 'full', warmMs: 5_000, outageMs: 5_000, afterMs: 8_000, loadMs: 15_000, singleWorkers: 32, batchWorkers: 16, batchSize: 50 }
}

export interface ScenarioContext {
  cluster: PostgresCluster
  /** The service's entry: dist/server.js, or src/server.ts run with this process's loader. */
  entry: string
  profile: Profile
  /** Service logs go here, one file per start. */
  logDir: string
  /** Progress output. */
  note: (line: string) => void
}

export interface ScenarioResult extends Ledger {
  scenario: string
  requests: number
  /** Every 5xx, and those other than 503. */
  fiveXx: number
  unexpected5xx: number
  status503: number
  /** Largest resident set of the service while it ran (all its starts). */
  peakRssBytes: number
  /** Seconds from the database being back to the first acknowledgement written after it. */
  recoverySeconds?: number
  /** p99 latency of 200 answers, ms. */
  p99Ms?: number
  /** Scenario-specific facts for the report. */
  facts: Record<string, string | number>
  /** Every check that did not hold; empty when the scenario passed. */
  failures: string[]
  seconds: number
}

export interface Scenario {
  name: string
  /** The issue's letter, and what it shows. */
  title: string
  run: (context: ScenarioContext) => Promise<ScenarioResult>
}

/** A database of its own for a scenario, and the service on it. */
export async function serviceFor (context: ScenarioContext, scenario: string, env: Record<string, string>, database?: string): Promise<{ service: Service, databaseUrl: string }> {
  const databaseUrl = database ?? await context.cluster.createDatabase(scenario.replaceAll('-', '_'))
  const service = await Service.start({
    entry: context.entry,
    databaseUrl,
    env,
    logFile: join(context.logDir, `${scenario}.log`)
  })
  context.note(`${scenario}: service pid ${service.pid} at ${service.url} (${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ') || 'defaults'})`)
  return { service, databaseUrl }
}

/** The profile's load on `service`: its single and batch workers, stopping by itself after `maxDurationMs`. */
export function profileLoad (service: Service, profile: Profile, options: Pick<LoadOptions, 'maxDurationMs' | 'poisonEvery'>): Load {
  return startLoad({ url: service.url, singleWorkers: profile.singleWorkers, batchWorkers: profile.batchWorkers, batchSize: profile.batchSize, ...options })
}

/**
 * The counts and the checks every scenario makes: nothing acknowledged lost, nothing stored
 * twice, no 5xx but 503, every 503 with Retry-After, no unexpected answer, something acknowledged.
 */
export async function settle (scenario: string, started: number, report: LoadReport, databaseUrl: string, services: Service[]): Promise<ScenarioResult> {
  const ledger = reconcile(report.acked, await storedIds(databaseUrl))
  const { all, unexpected } = count5xx(report)
  const failures: string[] = []
  if (ledger.acked === 0) failures.push('nothing was acknowledged: the load never got through')
  if (ledger.lost > 0) failures.push(`${ledger.lost} acknowledged events are not in user_metrics (e.g. ${ledger.lostSample.join(', ')})`)
  if (ledger.duplicates > 0) failures.push(`${ledger.duplicates} event_ids have more than one row`)
  if (unexpected > 0) failures.push(`${unexpected} answers were 5xx other than 503`)
  if (report.retryAfterMissing > 0) failures.push(`${report.retryAfterMissing} 503s had no Retry-After`)
  if (report.anomalyCount > 0) failures.push(`${report.anomalyCount} unexpected answers, e.g. ${report.anomalies.slice(0, 3).join(' | ')}`)
  for (const service of services) {
    const died = service.diedOnItsOwn
    if (died !== undefined) failures.push(died)
  }
  const p99 = summarise(report.okLatenciesMs)?.p99
  return {
    scenario,
    ...ledger,
    requests: report.requests,
    fiveXx: all,
    unexpected5xx: unexpected,
    status503: report.statuses.get(503) ?? 0,
    peakRssBytes: Math.max(0, ...services.map(s => s.rss.peakBytes)),
    ...(p99 !== undefined ? { p99Ms: p99 } : {}),
    facts: {},
    failures,
    seconds: (performance.now() - started) / 1000
  }
}

/** Stops a service that a failed scenario left running, without caring how it ends. */
export async function cleanup (service: Service | undefined): Promise<void> {
  if (service !== undefined && service.exit === undefined) await service.stop('SIGKILL', 5_000)
}

/** Counts by code for the report: `INGEST_BUFFER_FULL:12 ECONNRESET:3`, '' when there are none. */
export function tally (counts: ReadonlyMap<string, number>): string {
  return [...counts].map(([code, n]) => `${code}:${n}`).join(' ')
}

/** What came back besides acknowledgements — 503s by code, requests without an answer — and what the service logged. */
export function answerFacts (report: LoadReport, service: Service): Record<string, string | number> {
  return { '503 codes': tally(report.codes503), 'no answer': tally(report.networkErrors) || 0, logged: loggedProblems(service) }
}

/** Problems the service logged (warn and above), summarised by message, for the report. */
export function loggedProblems (service: Service): string {
  const byMessage = new Map<string, number>()
  for (const record of service.problems) {
    const key = String(record.msg ?? '(no msg)')
    byMessage.set(key, (byMessage.get(key) ?? 0) + 1)
  }
  return [...byMessage].map(([msg, n]) => `${n}× ${msg}`).join('; ')
}
