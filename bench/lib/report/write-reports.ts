/**
 * The run's files in bench/results/: <timestamp>.json (every figure, for machines), .md and .svg
 * (for people). A full run also replaces latest.json, latest.md and latest.svg, which the docs
 * quote: the same content under a name that does not move.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { renderChart } from './chart.js'
import { markdown } from './markdown.js'
import type { Run } from './run-record.js'

// BENCH_RESULTS_DIR: somewhere else (the tests' runs write to a temporary directory).
const resultsDir = process.env.BENCH_RESULTS_DIR
export const RESULTS_DIR = resultsDir === undefined || resultsDir === '' ? fileURLToPath(new URL('../../results/', import.meta.url)) : `${resultsDir.replace(/\/+$/, '')}/`

function chartSubtitle (run: Run): string[] {
  const m = run.machine
  return [
    ...(run.target !== undefined ? [`against ${run.target.url} (not started by the bench); load generator on:`] : []),
    `${m.cpu} × ${m.cores} cores, ${m.memoryGiB} GiB; Node ${m.node}; ${run.database.version.split(' on ')[0] ?? ''}`,
    `${run.timestamp}, ${run.revision.sha.slice(0, 12)}${run.revision.dirty ? '+changes' : ''}; ${run.options.duration} s per scenario${run.options.smoke ? ' (smoke: not measurements)' : ''}; ${run.options.pin ? 'pinned (taskset)' : 'not pinned'}`
  ]
}

/** Writes <timestamp>.json/.md/.svg, and latest.json/.md/.svg when `latest`. Returns the paths written. */
export async function writeReports (run: Run, { latest }: { latest: boolean }): Promise<string[]> {
  await mkdir(RESULTS_DIR, { recursive: true })
  const json = JSON.stringify(run, null, 2) + '\n'
  const svg = await renderChart(run.scenarios, chartSubtitle(run))
  const stems = [run.timestamp.replace(/[:.]/g, '-'), ...(latest ? ['latest'] : [])]
  // Each .md points at the chart with the same stem: latest.md keeps showing latest.svg.
  const files = stems.flatMap((stem): Array<[string, string]> => [
    [`${stem}.json`, json],
    [`${stem}.md`, markdown(run, `${stem}.svg`)],
    [`${stem}.svg`, svg]
  ])
  for (const [name, content] of files) await writeFile(RESULTS_DIR + name, content)
  return files.map(([name]) => RESULTS_DIR + name)
}
