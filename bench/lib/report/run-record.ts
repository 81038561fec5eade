/** A whole run as the reports see it: what ran, where, and every scenario's figures. */
import type { Machine, Revision } from '../measure/machine.js'
import type { BenchOptions } from '../run/options.js'
import type { ScenarioResult } from '../scenario.js'
import type { Comparison } from './ratios.js'

export interface ScenarioFailure {
  name: string
  error: string
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
  options: BenchOptions
  scenarios: ScenarioResult[]
  failures: ScenarioFailure[]
  comparisons: Comparison[]
  /** No scenario failed and every no-loss check passed. */
  passed: boolean
}
