/** What a scenario is given and what it gives back: the one shape run/, the scenarios and report/ share. */
import type { CpuPerEvent, CpuUsage } from './measure/cpu-usage.js'
import type { ProfileSummary } from './measure/cpu-profile.js'
import type { IoUsage } from './measure/io-usage.js'
import type { LatencySummary } from './measure/latency.js'
import type { NoLossCheck } from './measure/no-loss.js'
import type { WindowMetrics } from './measure/service-metrics.js'
import type { StatementShare } from './measure/statements.js'
import type { WaitShare } from './measure/wait-events.js'
import type { BenchDatabase } from './run/database.js'
import type { BenchOptions } from './run/options.js'
import type { Pinning } from './run/pinning.js'

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
  /** Where events are stored: the service's and PostgreSQL's CPU per event. */
  cpuPerEvent?: CpuPerEvent
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
