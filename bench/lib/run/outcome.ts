/** What both kinds of run share at their ends: the progress lines, the command line, the report and the outcome. */
import { relative } from 'node:path'
import { growthSection } from '../report/growth.js'
import { replicasSection } from '../report/replicas.js'
import type { Run } from '../report/run-record.js'
import { printTable } from '../report/table.js'
import { writeReports } from '../report/write-reports.js'
import { redactArgs } from './options.js'

/** How this run was started, for the report (the API key and any password masked): `npm run bench -- …` or `npx tsx bench/… …`. */
export function commandLine (): string {
  const args = redactArgs(process.argv.slice(2)).join(' ')
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args === '' ? '' : ` -- ${args}`}`
  return `npx tsx ${relative(process.cwd(), process.argv[1] ?? 'bench/run.ts')}${args === '' ? '' : ` ${args}`}`
}

export function progressLine (startedAt: number): (line: string) => void {
  return line => { console.log(`[${((performance.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${line}`) }
}

/** The console's table and sections, then the files; the run's outcome. */
export async function report (run: Run, { latest }: { latest: boolean }): Promise<boolean> {
  printTable(run)
  const growth = growthSection(run.scenarios)
  if (growth !== undefined) console.log(`\n${growth}`)
  const replicas = replicasSection(run.scenarios, run.machine)
  if (replicas !== undefined) console.log(`\n${replicas}`)
  // Never latest.* for a --target run, whatever the caller says: it measured someone else's deployment.
  const files = await writeReports(run, { latest: latest && run.target === undefined })
  console.log(`\nwrote ${files.join(', ')}`)
  console.log(run.passed ? `passed: no scenario failed, ${run.target !== undefined && run.target.database === undefined ? 'no-loss not checked (no --database-url)' : 'nothing was lost'}` : 'FAILED: see above')
  return run.passed
}
