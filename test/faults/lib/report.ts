/** The one line per scenario, and the final table. */
import type { ScenarioResult } from './scenario.js'

function mb (bytes: number): string {
  return bytes > 0 ? `${Math.round(bytes / 1024 / 1024)} MB` : '-'
}

function seconds (value: number | undefined): string {
  return value === undefined ? '-' : value.toFixed(2)
}

export function passed (result: ScenarioResult): boolean {
  return result.failures.length === 0
}

/** scenario, acked, stored, lost, duplicates, 5xx, peak RSS, recovery seconds — and the verdict. */
export function resultLine (r: ScenarioResult): string {
  return [
    `${passed(r) ? 'PASS' : 'FAIL'} ${r.scenario}`,
    `acked=${r.acked}`,
    `stored=${r.stored}`,
    `lost=${r.lost}`,
    `duplicates=${r.duplicates}`,
    `5xx=${r.fiveXx} (503=${r.status503}, other=${r.unexpected5xx})`,
    `peakRSS=${mb(r.peakRssBytes)}`,
    `recovery_s=${seconds(r.recoverySeconds)}`,
    `unacked_stored=${r.unacked}`,
    `p99_200_ms=${r.p99Ms === undefined ? '-' : Math.round(r.p99Ms)}`,
    `requests=${r.requests}`,
    `took_s=${r.seconds.toFixed(1)}`
  ].join(', ')
}

/** The facts a scenario adds, and why it failed. */
export function resultDetails (r: ScenarioResult): string[] {
  const lines = Object.entries(r.facts).filter(([, v]) => v !== '').map(([k, v]) => `    ${k}: ${v}`)
  for (const failure of r.failures) lines.push(`    ✗ ${failure}`)
  return lines
}

export function table (results: readonly ScenarioResult[]): string {
  const header = ['scenario', 'acked', 'stored', 'lost', 'dups', '5xx', '503', 'other 5xx', 'peak RSS', 'recovery s', 'p99 200 ms', 'unacked stored', 'result']
  const rows = results.map(r => [
    r.scenario, String(r.acked), String(r.stored), String(r.lost), String(r.duplicates), String(r.fiveXx),
    String(r.status503), String(r.unexpected5xx), mb(r.peakRssBytes), seconds(r.recoverySeconds),
    r.p99Ms === undefined ? '-' : String(Math.round(r.p99Ms)), String(r.unacked), passed(r) ? 'PASS' : 'FAIL'
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(row => row[i]!.length)))
  const format = (cells: string[]): string => `| ${cells.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join(' | ')} |`
  return [format(header), `|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(format)].join('\n')
}
