/** The run for people: bench/results/<timestamp>.md (and latest.md), the chart beside it. */
import { formatProfile } from '../measure/cpu-profile.js'
import { formatStatements } from '../measure/statements.js'
import { growthSection } from './growth.js'
import { formatComparison } from './ratios.js'
import { replicasSection } from './replicas.js'
import type { Run } from './run-record.js'
import { markdownTable, shownComparisons, targetLines } from './table.js'

function describeRun (run: Run): string {
  const m = run.machine
  return `${m.cpu} × ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; ${run.database.version.split(',')[0] ?? run.database.version}`
}

export function markdown (run: Run, chartFile: string): string {
  const o = run.options
  const settings = Object.entries(run.database.settings).map(([k, v]) => `${k}=${v}`).join(', ')
  const growth = growthSection(run.scenarios)
  const replicas = replicasSection(run.scenarios, run.machine)
  const sections = [
    `# metrics-ingest benchmark — ${run.timestamp}`,
    ...(run.target !== undefined ? [targetLines(run.target).map(line => `- ${line}`).join('\n')] : []),
    `\`${run.command}\` at ${run.revision.sha.slice(0, 12)}${run.revision.dirty ? ' (with uncommitted changes)' : ''}: ` +
      `${o.warmup} s warm-up (not recorded), then ${o.duration} s measured per scenario${o.smoke ? ' — **smoke run: the figures are not measurements**' : ''}.` +
      (Object.keys(o.serviceEnv).length > 0 ? ` **Experiment:** every service scenario ran with ${Object.entries(o.serviceEnv).map(([k, v]) => `${k}=${v}`).join(' ')}.` : ''),
    `**Machine:** ${describeRun(run)}. 1-minute load average at the start: ${run.machine.loadAverageAtStart}.`,
    `**PostgreSQL:** ${run.database.where}${settings === '' ? '' : `; ${settings}`}. **Placement:** ${run.pinning}; PostgreSQL ${run.database.pinning}.`,
    markdownTable(run.scenarios),
    ...(run.target !== undefined
      ? ['**Against a target:** the figures are the deployment\'s as seen from this machine, over its network; its configuration is its own ' +
          '(the scenarios\' ACK_MODE and other settings were not applied). The ack mode is read from its answers (200: durable; 202: buffered or stream). ' +
          'CPU: the load generator\'s and the rest of this machine\'s only; no peak RSS. With a database, events/s and the no-loss check count this ' +
          'run\'s rows alone (each window\'s event_ids share a random prefix), and WAL is the whole cluster\'s.']
      : []),
    'req/s: answers a second (any status). events/s: rows in `user_metrics` ÷ the measured seconds — for buffered, counted once ' +
      'the buffer drained (drain s after the window). Latency: every 2xx answer, client side (autocannon, in-process). ' +
      'Peak RSS: VmHWM of the server process, warm-up included. CPU: cores\' worth of CPU time over the measured window of the ' +
      'server process, PostgreSQL (all its processes; embedded only), the load generator (the runner: autocannon, COPY, commits) and ' +
      'everything else on the machine. CPU µs/event: where events are stored, the CPU time each cost the service and PostgreSQL ' +
      '(cores busy × 1,000,000 ÷ events/s). WAL B/event: PostgreSQL\'s WAL bytes over the window ÷ rows stored (bare-commit: ÷ commits). ' +
      'No loss: rows = events acknowledged with 2xx, plus at most the ' +
      'requests still unanswered when the client stopped.',
    `![benchmark chart](${chartFile})`,
    ...(shownComparisons(run).length > 0 ? ['## Against the targets\n\n' + shownComparisons(run).map(c => `- ${formatComparison(c)}`).join('\n')] : []),
    ...(growth !== undefined ? [growth] : []),
    ...(replicas !== undefined ? [replicas] : []),
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
