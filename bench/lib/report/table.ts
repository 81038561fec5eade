/** One row a scenario, the same on the console and in the Markdown report. */
import type { ScenarioResult } from '../scenario.js'
import { formatComparison } from './ratios.js'
import type { Run, TargetSummary } from './run-record.js'

export const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined ? '—' : n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })
export const ms = (n: number | undefined): string => n === undefined ? '—' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0)
const cores = (n: number): string => n.toFixed(2)
const micros = (n: number): string => n < 10 ? n.toFixed(1) : n.toFixed(0)
const slashed = (values: ReadonlyArray<number | undefined>, format: (n: number) => string): string => values.map(v => v === undefined ? '—' : format(v)).join('/')

const COLUMNS = ['scenario', 'conns', 'req/s', 'events/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'non-2xx', 'errors', 'peak RSS MiB', 'drain s', 'CPU svc/pg/load/other', 'CPU µs/event svc/pg', 'WAL B/event', 'no loss'] as const

function row (r: ScenarioResult): Record<typeof COLUMNS[number], string> {
  const connections = r.config.connections
  return {
    scenario: r.name,
    conns: typeof connections === 'number' ? String(connections) : '—',
    'req/s': fmt(r.requestsPerSecond),
    'events/s': fmt(r.eventsPerSecond),
    'p50 ms': ms(r.latencyMs?.p50),
    'p90 ms': ms(r.latencyMs?.p90),
    'p99 ms': ms(r.latencyMs?.p99),
    'max ms': ms(r.latencyMs?.max),
    'non-2xx': fmt(r.non2xx),
    errors: fmt(r.errors),
    'peak RSS MiB': r.peakRssBytes === undefined ? '—' : fmt(r.peakRssBytes / 2 ** 20),
    'drain s': r.drainSeconds === undefined ? '—' : r.drainSeconds.toFixed(1),
    'CPU svc/pg/load/other': r.cpu === undefined
      ? '—'
      : slashed([r.cpu.serverCores, r.cpu.databaseCores, r.cpu.runnerCores, r.cpu.otherCores], cores),
    'CPU µs/event svc/pg': r.cpuPerEvent === undefined ? '—' : slashed([r.cpuPerEvent.serviceMicros, r.cpuPerEvent.databaseMicros], micros),
    'WAL B/event': fmt(r.io?.walBytesPerEvent),
    'no loss': r.noLoss !== undefined ? (r.noLoss.passed ? 'ok' : 'FAILED') : r.noLossNotChecked !== undefined ? 'not checked' : '—'
  }
}

/**
 * The comparisons worth printing: all of them for the bench's own run (an n/a says which scenario
 * to add); for a --target run only those it measured — its ceilings and baselines never run.
 */
export function shownComparisons (run: Run): Run['comparisons'] {
  return run.target === undefined ? run.comparisons : run.comparisons.filter(c => c.value !== undefined)
}

/** A --target run: what it ran against and what it could not see, a line each (the console's and the Markdown's top). */
export function targetLines (target: TargetSummary): string[] {
  return [
    `target: ${target.url} — a deployment the bench did not start, in its own configuration`,
    `API key used: ${target.apiKey ? 'yes' : 'no'}`,
    target.database === undefined
      ? 'database: not given — no-loss: not checked (no --database-url); events/s = 2xx answers × events per request'
      : `database: given (${target.database}), read-only — this run's rows counted by event_id prefix, nothing truncated`,
    `/metrics: ${target.metrics}`,
    "CPU: the load generator's only — the target's service and PostgreSQL are not processes of this run",
    ...(target.skipped.length > 0 ? [`skipped: ${target.skipped.map(s => `${s.name} (${s.reason})`).join('; ')}`] : [])
  ]
}

export function printTable (run: Run): void {
  console.log()
  if (run.target !== undefined) for (const line of targetLines(run.target)) console.log(line)
  if (run.scenarios.length > 0) console.table(run.scenarios.map(row))
  else console.log('(no scenario measured anything)')
  for (const c of shownComparisons(run)) console.log(formatComparison(c))
  for (const r of run.scenarios) {
    if (r.noLoss !== undefined && !r.noLoss.passed) console.error(`no-loss check FAILED in ${r.name}: ${r.noLoss.message}`)
  }
  for (const f of run.failures) console.error(`scenario ${f.name} FAILED: ${f.error}`)
}

/** A Markdown table of strings: the first `leftColumns` left-aligned, the rest right-aligned (the growth and replicas sections). */
export function gridTable (header: readonly string[], rows: ReadonlyArray<readonly string[]>, leftColumns = 1): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => i < leftColumns ? '---' : '---:').join('|')}|`,
    ...rows.map(row => `| ${row.join(' | ')} |`)
  ].join('\n')
}

export function markdownTable (results: readonly ScenarioResult[]): string {
  const right = new Set<string>(COLUMNS.filter(c => c !== 'scenario' && c !== 'no loss'))
  const lines = [
    `| ${COLUMNS.join(' | ')} |`,
    `|${COLUMNS.map(c => right.has(c) ? '---:' : '---').join('|')}|`,
    ...results.map(r => `| ${Object.values(row(r)).join(' | ')} |`)
  ]
  return lines.join('\n')
}
