/**
 * A run's figures three ways: a table on the console, bench/results/<timestamp>.json (everything)
 * and bench/results/<timestamp>.md + .svg (for people; latest.md/latest.svg after a full run).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { renderChart } from './chart.js'
import { formatProfile } from './cpu-profile.js'
import type { Machine, Revision } from './machine.js'
import type { BenchOptions } from './options.js'
import { formatComparison, type Comparison } from './ratios.js'
import { formatStatements } from './statements.js'
import type { ScenarioResult } from './scenario.js'

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url))

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

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined ? '—' : n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const ms = (n: number | undefined): string => n === undefined ? '—' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0)

const COLUMNS = ['scenario', 'conns', 'req/s', 'events/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'non-2xx', 'errors', 'peak RSS MiB', 'drain s', 'CPU svc/pg/load/other', 'WAL B/event', 'no loss'] as const

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
      : [r.config.target === undefined ? undefined : r.cpu.serverCores, r.cpu.databaseCores, r.cpu.runnerCores, r.cpu.otherCores].map(c => c === undefined ? '—' : c.toFixed(2)).join('/'),
    'WAL B/event': fmt(r.io?.walBytesPerEvent),
    'no loss': r.noLoss === undefined ? '—' : r.noLoss.passed ? 'ok' : 'FAILED'
  }
}

export function printTable (run: Run): void {
  console.log()
  console.table(run.scenarios.map(row))
  for (const c of run.comparisons) console.log(formatComparison(c))
  for (const r of run.scenarios) {
    if (r.noLoss !== undefined && !r.noLoss.passed) console.error(`no-loss check FAILED in ${r.name}: ${r.noLoss.message}`)
  }
  for (const f of run.failures) console.error(`scenario ${f.name} FAILED: ${f.error}`)
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

function describeRun (run: Run): string {
  const m = run.machine
  return `${m.cpu} × ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; ${run.database.version.split(',')[0] ?? run.database.version}`
}

export function markdown (run: Run, chartFile: string): string {
  const o = run.options
  const settings = Object.entries(run.database.settings).map(([k, v]) => `${k}=${v}`).join(', ')
  const sections = [
    `# metrics-ingest benchmark — ${run.timestamp}`,
    `\`${run.command}\` at ${run.revision.sha.slice(0, 12)}${run.revision.dirty ? ' (with uncommitted changes)' : ''}: ` +
      `${o.warmup} s warm-up (not recorded), then ${o.duration} s measured per scenario${o.smoke ? ' — **smoke run: the figures are not measurements**' : ''}.` +
      (Object.keys(o.serviceEnv).length > 0 ? ` **Experiment:** every service scenario ran with ${Object.entries(o.serviceEnv).map(([k, v]) => `${k}=${v}`).join(' ')}.` : ''),
    `**Machine:** ${describeRun(run)}. 1-minute load average at the start: ${run.machine.loadAverageAtStart}.`,
    `**PostgreSQL:** ${run.database.where}; ${settings}. **Placement:** ${run.pinning}; PostgreSQL ${run.database.pinning}.`,
    markdownTable(run.scenarios),
    'req/s: answers a second (any status). events/s: rows in `user_metrics` ÷ the measured seconds — for buffered, counted once ' +
      'the buffer drained (drain s after the window). Latency: every 2xx answer, client side (autocannon, in-process). ' +
      'Peak RSS: VmHWM of the server process, warm-up included. CPU: cores\' worth of CPU time over the measured window of the ' +
      'server process, PostgreSQL (all its processes; embedded only), the load generator (the runner: autocannon, COPY, commits) and ' +
      'everything else on the machine. WAL B/event: PostgreSQL\'s WAL bytes over the window ÷ rows stored (bare-commit: ÷ commits). No loss: rows = events acknowledged with 2xx, plus at most the ' +
      'requests still unanswered when the client stopped.',
    `![benchmark chart](${chartFile})`,
    '## Against the targets\n\n' + run.comparisons.map(c => `- ${formatComparison(c)}`).join('\n'),
    '## Scenarios\n\n' + run.scenarios.map(r => {
      const extra = [...(r.noLoss !== undefined ? [`no-loss: ${r.noLoss.message}`] : []), ...r.notes]
      return `- **${r.name}** — ${r.description}. \`${JSON.stringify(r.config)}\`${extra.length > 0 ? `\n  ${extra.join('; ')}` : ''}`
    }).join('\n')
  ]
  if (run.failures.length > 0) sections.push('## Failures\n\n' + run.failures.map(f => `- **${f.name}**: ${f.error}`).join('\n'))
  const statements = run.scenarios.filter(r => r.statements !== undefined)
  if (statements.length > 0) {
    sections.push('## PostgreSQL statements (pg_stat_statements, measured window)\n\n' +
      statements.map(r => `### ${r.name}\n\n\`\`\`\n${formatStatements(r.statements!)}\n\`\`\``).join('\n\n'))
  }
  const profiles = run.scenarios.filter(r => r.profile !== undefined)
  if (profiles.length > 0) {
    sections.push('## CPU profiles of the service\n\n' + profiles.map(r => `### ${r.name}\n\n\`\`\`\n${formatProfile(r.profile!)}\n\`\`\``).join('\n\n'))
  }
  return sections.join('\n\n') + '\n'
}

/** Writes <timestamp>.json/.md/.svg; also latest.md/.svg when `latest`. Returns the paths written. */
export async function writeReports (run: Run, { latest }: { latest: boolean }): Promise<string[]> {
  await mkdir(RESULTS_DIR, { recursive: true })
  const stem = run.timestamp.replace(/[:.]/g, '-')
  const m = run.machine
  const subtitle = [
    `${m.cpu} × ${m.cores} cores, ${m.memoryGiB} GiB; Node ${m.node}; ${run.database.version.split(' on ')[0] ?? ''}`,
    `${run.timestamp}, ${run.revision.sha.slice(0, 12)}${run.revision.dirty ? '+changes' : ''}; ${run.options.duration} s per scenario${run.options.smoke ? ' (smoke: not measurements)' : ''}; ${run.options.pin ? 'pinned (taskset)' : 'not pinned'}`
  ]
  const svg = await renderChart(run.scenarios, subtitle)
  const files: Array<[string, string]> = [
    [`${stem}.json`, JSON.stringify(run, null, 2) + '\n'],
    [`${stem}.md`, markdown(run, `${stem}.svg`)],
    [`${stem}.svg`, svg]
  ]
  if (latest) files.push(['latest.md', markdown(run, 'latest.svg')], ['latest.svg', svg])
  for (const [name, content] of files) await writeFile(RESULTS_DIR + name, content)
  return files.map(([name]) => RESULTS_DIR + name)
}
