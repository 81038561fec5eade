/** A whole run as the reports see it: what ran, where, and every scenario's figures. */
import type { Machine, Revision } from '../measure/machine.js'
import type { BenchOptions } from '../run/options.js'
import type { ScenarioResult } from '../scenario.js'
import type { Comparison } from './ratios.js'

export interface ScenarioFailure {
  name: string
  error: string
}

/** A --target run, for the report: nothing secret (the key's presence, not its value; the database's password masked). */
export interface TargetSummary {
  url: string
  apiKey: boolean
  /** The deployment's database with its password masked; undefined: not given, no rows counted. */
  database?: string
  /** The base /metrics was read under, and whether it answered (or why not). */
  metricsUrl: string
  metrics: string
  /** The scenarios chosen that a running deployment cannot run, each with why. */
  skipped: Array<{ name: string, reason: string }>
}

export interface Run {
  timestamp: string
  command: string
  revision: Revision
  machine: Machine
  database: {
    version: string
    settings: Record<string, string>
    where: string
    pinning: string
  }
  pinning: string
  /** The options, less --target's: those are in `target`, without the API key or a password. */
  options: Omit<BenchOptions, 'target'>
  /** A --target run: what it ran against. */
  target?: TargetSummary
  scenarios: ScenarioResult[]
  failures: ScenarioFailure[]
  comparisons: Comparison[]
  /** No scenario failed and every no-loss check passed. */
  passed: boolean
}
