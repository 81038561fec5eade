/**
 * The run as one SVG, headless: vega-lite compiles the spec to vega, whose View renders SVG
 * without a canvas (renderer 'none'). Top: throughput per scenario; bottom: latency percentiles.
 */
import * as vega from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'
import type { ScenarioResult } from '../scenario.js'

export function chartSpec (results: readonly ScenarioResult[], subtitle: string[]): TopLevelSpec {
  const order = results.map(r => r.name)
  const throughput = results.flatMap(r => {
    if (r.eventsPerSecond !== undefined) return [{ scenario: r.name, value: r.eventsPerSecond, kind: r.noLossNotChecked === undefined ? 'committed events/s' : 'acknowledged events/s (2xx × events: rows not counted)' }]
    if (r.name === 'ceiling-http' && r.requestsPerSecond !== undefined) return [{ scenario: r.name, value: r.requestsPerSecond, kind: 'req/s (nothing stored)' }]
    return []
  })
  const latency = results.flatMap(r => r.latencyMs === undefined
    ? []
    : (['p50', 'p90', 'p99'] as const).map(p => ({ scenario: r.name, percentile: p, ms: Math.max(r.latencyMs![p], 0.01) })))

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'metrics-ingest benchmark', subtitle, anchor: 'start' },
    config: { font: 'sans-serif', view: { stroke: null } },
    // Two legends: the throughput bars' kinds and the percentiles.
    resolve: { scale: { color: 'independent' } },
    vconcat: [
      {
        title: 'Throughput a second: committed events (rows ÷ seconds); requests for ceiling-http',
        width: 520,
        data: { values: throughput },
        encoding: {
          y: { field: 'scenario', type: 'nominal', sort: order, title: null },
          x: { field: 'value', type: 'quantitative', title: 'per second', axis: { format: ',d' } }
        },
        layer: [
          { mark: { type: 'bar' }, encoding: { color: { field: 'kind', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 400 } } } },
          { mark: { type: 'text', align: 'left', dx: 3 }, encoding: { text: { field: 'value', type: 'quantitative', format: ',.0f' } } }
        ]
      },
      {
        // Points on a log scale (bars cannot start at 0 there), p50 to p99 joined by a rule.
        title: 'Latency of 2xx answers, ms (log scale): p50, p90, p99',
        width: 520,
        data: { values: latency },
        encoding: {
          y: { field: 'scenario', type: 'nominal', sort: order.filter(name => latency.some(l => l.scenario === name)), title: null }
        },
        layer: [
          {
            mark: { type: 'rule', color: '#bbb' },
            encoding: {
              x: { aggregate: 'min', field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'ms' },
              x2: { aggregate: 'max', field: 'ms' }
            }
          },
          {
            mark: { type: 'point', filled: true, size: 90, opacity: 1 },
            encoding: {
              x: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'ms' },
              color: { field: 'percentile', type: 'nominal', sort: ['p50', 'p90', 'p99'], scale: { range: ['#9ecae1', '#3182bd', '#08306b'] }, legend: { orient: 'bottom' } }
            }
          },
          {
            transform: [{ filter: "datum.percentile === 'p50'" }],
            mark: { type: 'text', dy: -10, fontSize: 10 },
            encoding: {
              x: { field: 'ms', type: 'quantitative' },
              text: { field: 'ms', type: 'quantitative', format: '.3~r' }
            }
          }
        ]
      }
    ]
  }
}

export async function renderChart (results: readonly ScenarioResult[], subtitle: string[]): Promise<string> {
  const { spec } = compile(chartSpec(results, subtitle))
  const view = new vega.View(vega.parse(spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}
