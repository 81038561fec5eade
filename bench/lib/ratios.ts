/**
 * The comparisons that say whether the design pays, each from figures of the same run, beside
 * the target it was built for. Informational: figures never fail a run (the no-loss check does).
 */
import type { ScenarioResult } from './scenario.js'

export interface Comparison {
  name: string
  /** undefined when a scenario it needs did not run (or measured nothing). */
  value?: number
  unit: '×' | 'ms'
  target: string
  met?: boolean
  /** How it was computed, with the figures. */
  detail: string
}

type Pick = (result: ScenarioResult) => number | undefined

function ratio (results: readonly ScenarioResult[], name: string, top: string, bottom: string, pick: Pick, what: string, atLeast: number): Comparison {
  const a = results.find(r => r.name === top)
  const b = results.find(r => r.name === bottom)
  const x = a === undefined ? undefined : pick(a)
  const y = b === undefined ? undefined : pick(b)
  const target = `≥ ${atLeast}×`
  if (x === undefined || y === undefined || y === 0) {
    return { name, unit: '×', target, detail: `needs ${top} and ${bottom} in the same run` }
  }
  const value = x / y
  return { name, value, unit: '×', target, met: value >= atLeast, detail: `${round(x)} ÷ ${round(y)} ${what}` }
}

function round (n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(2)
}

export function compare (results: readonly ScenarioResult[]): Comparison[] {
  const requests: Pick = r => r.requestsPerSecond
  const events: Pick = r => r.eventsPerSecond
  const p50: Pick = r => r.latencyMs?.p50
  const comparisons = [
    ratio(results, 'single-durable ÷ ceiling-http (req/s)', 'single-durable', 'ceiling-http', requests, 'req/s', 0.8),
    ratio(results, 'single-durable ÷ naive (committed events/s)', 'single-durable', 'naive', events, 'events/s', 7),
    ratio(results, 'batch-1000 ÷ ceiling-copy (committed events/s)', 'batch-1000', 'ceiling-copy', events, 'events/s', 0.8)
  ]

  const durable = results.find(r => r.name === 'single-durable')?.latencyMs?.p99
  comparisons.push(durable === undefined
    ? { name: 'single-durable p99', unit: 'ms', target: '≤ 50 ms', detail: 'needs single-durable' }
    : { name: 'single-durable p99', value: durable, unit: 'ms', target: '≤ 50 ms', met: durable <= 50, detail: `p99 of the 2xx answers at ${String(results.find(r => r.name === 'single-durable')?.config.connections)} connections` })

  const light = results.find(r => r.name === 'light-load')
  const bare = results.find(r => r.name === 'bare-commit')
  const lightP50 = light === undefined ? undefined : p50(light)
  const bareP50 = bare === undefined ? undefined : p50(bare)
  if (lightP50 === undefined || bareP50 === undefined) {
    comparisons.push({ name: 'light-load p50 − bare-commit p50', unit: 'ms', target: '≤ 2 ms', detail: 'needs light-load and bare-commit in the same run' })
  } else {
    comparisons.push({
      name: 'light-load p50 − bare-commit p50',
      value: lightP50 - bareP50,
      unit: 'ms',
      target: '≤ 2 ms',
      met: lightP50 - bareP50 <= 2,
      detail: `${lightP50.toFixed(2)} ms − ${bareP50.toFixed(2)} ms (ratio ${(lightP50 / bareP50).toFixed(2)}×)`
    })
  }
  return comparisons
}

export function formatComparison (c: Comparison): string {
  if (c.value === undefined) return `${c.name}: n/a (${c.detail}); target ${c.target}`
  const value = c.unit === '×' ? `${c.value.toFixed(2)}×` : `${c.value.toFixed(2)} ms`
  return `${c.name}: ${value} (${c.detail}); target ${c.target}: ${c.met === true ? 'met' : 'NOT met'}`
}
