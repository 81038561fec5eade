import type { BenchDatabase } from './database.js'
import type { LatencySummary } from './latency.js'
import type { NoLossCheck } from './no-loss.js'
import type { BenchOptions } from './options.js'
import type { Pinning } from './pinning.js'
import type { ProfileSummary } from './cpu-profile.js'
import type { CpuUsage } from './cpu-usage.js'
import type { IoUsage } from './io-usage.js'
import type { WindowMetrics } from './service-metrics.js'
import type { StatementShare } from './statements.js'
import type { WaitShare } from './wait-events.js'

export interface ScenarioContext {
  options: BenchOptions
  database: BenchDatabase
  pinning: Pinning
  /** One line of progress (a second of load, a phase starting). */
  progress: (line: string) => void
  /** --profile: the service of each scenario writes its .cpuprofile under here, in a folder of its name. */
  profileDir?: string
}

export interface ScenarioResult {
  name: string
  description: string
  /** What ran: route, connections, the service's environment on top of its defaults, … */
  config: Record<string, unknown>
  /** The measured window. */
  seconds: number
  requestsPerSecond?: number
  /** Committed events a second: rows in user_metrics ÷ seconds. Undefined where nothing is stored. */
  eventsPerSecond?: number
  latencyMs?: LatencySummary
  non2xx?: number
  errors?: number
  statusCodes?: Record<string, number>
  /** Of the process under load (VmHWM), warm-up included. */
  peakRssBytes?: number
  /** After the window: until the service held no more events. */
  drainSeconds?: number
  noLoss?: NoLossCheck
  /** Cores' worth of CPU each process used during the measured window. */
  cpu?: CpuUsage
  /** WAL and disk writes during the measured window. */
  io?: IoUsage
  /** The service's /metrics over the measured window (and its drain). */
  service?: WindowMetrics
  /** Anything a reader of the figures should know (bodies built during the run, …). */
  notes: string[]
  profile?: ProfileSummary
  /** What the writer's database connections were doing, sampled over the window. */
  waits?: WaitShare[]
  /** --statements: PostgreSQL's top statements over the window (and the drain). */
  statements?: StatementShare[]
}

export interface Scenario {
  name: string
  description: string
  /** Runs dist/server.js: needs `npm run build`. */
  usesService: boolean
  run: (context: ScenarioContext) => Promise<ScenarioResult>
}
