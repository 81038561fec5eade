/** What a scenario is given and what it gives back: the one shape run/, the scenarios and report/ share. */
import type { CpuPerEvent, CpuUsage } from './measure/cpu-usage.js'
import type { ProfileSummary } from './measure/cpu-profile.js'
import type { IndexSizes } from './measure/index-sizes.js'
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
  /** Why no no-loss check was made where one would be (a --target run without --database-url). */
  noLossNotChecked?: string
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
  /** A step of the growth group: what the report's growth section and its ratios are built from. */
  growth?: GrowthStep
  /** A window of the replicas group: what the report's replicas section is built from. */
  replicas?: ReplicasStep
  /** A server of the paired scenario: its req/s in each round, in round order. */
  paired?: PairedWindows
}

/** The paired scenario's three servers (scenarios/paired.ts). */
export const PairedContender = { ceiling: 'ceiling-http', floor: 'floor-durable', service: 'single-durable' } as const
export type PairedContender = typeof PairedContender[keyof typeof PairedContender]

export interface PairedWindows {
  contender: PairedContender
  /** req/s of its window in each round: round i of every contender ran within the same minute. */
  rounds: number[]
  /**
   * The share of the machine's cores busy in each round's window (the host's steal left out): the
   * no-op route's says whether it ran at its own speed. Absent in results written before 2026-12-04.
   */
  busyShare?: number[]
  /** How often the server went to sleep an answer in each round (measure/sleeps.ts); absent before 2026-12-04. */
  sleepsPerAnswer?: number[]
}

/** The growth group's two schemas of user_metrics (scenarios/growth.ts says how each is built). */
export const GrowthSchema = { partitioned: 'partitioned', unpartitioned: 'unpartitioned' } as const
export type GrowthSchema = typeof GrowthSchema[keyof typeof GrowthSchema]

/** What a result of the growth group (issue 12) measured. */
export type GrowthStep =
  | {
    /** An HTTP scenario's window on one schema, on empty tables or on the history. */
    step: 'load'
    schema: GrowthSchema
    /** The HTTP scenario measured: single-durable, batch-1000. */
    load: string
    /** Rows user_metrics held when the window started: 0 on empty tables. */
    historyRows: number
    /** The figure compared: answers a second for single events, committed events a second for batches. */
    figure: 'req/s' | 'events/s'
  }
  | {
    /** The history loaded with COPY, then VACUUM ANALYZE; the indexes as they then stood. */
    step: 'preload'
    schema: GrowthSchema
    rows: number
    days: number
    copySeconds: number
    vacuumSeconds: number
    indexes: IndexSizes
  }
  | {
    /** Migration 005 applied to a user_metrics that 001–004 made and `rows` rows filled. */
    step: 'upgrade'
    rows: number
    fillSeconds: number
    migrateSeconds: number
    /** The migrations that ran: 005 alone. */
    applied: string[]
  }

/** A window of the replicas group (issue 13): one HTTP scenario, straight to one service or through HAProxy to N. */
export interface ReplicasStep {
  /** The HTTP scenario measured: single-durable, batch-1000. */
  load: string
  /** `direct`: the plain scenario, autocannon to the one service — what the HAProxy hop costs is measured against it. */
  via: 'haproxy' | 'direct'
  /** Service processes behind the address loaded: 1 for direct. */
  replicas: number
  /** The figure compared: answers a second for single events, committed events a second for batches. */
  figure: 'req/s' | 'events/s'
}

export interface Scenario {
  name: string
  description: string
  /** Runs dist/server.js: needs `npm run build`. */
  usesService: boolean
  /** One result a measurement: most scenarios make one, a growth scenario several. */
  run: (context: ScenarioContext) => Promise<ScenarioResult | ScenarioResult[]>
}
