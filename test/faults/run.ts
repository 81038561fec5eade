/**
 * The fault suite: `npm run faults` (builds dist/, then runs every scenario, full length).
 *
 *   npx tsx test/faults/run.ts [--only <name>[,<name>…]] [--profile full|short] [--service <entry>]
 *
 * --only       scenario names or prefixes: pg-restart-fast, pg-restart-immediate, sigterm,
 *              sigterm-buffered, sigkill, overload, poison-rows, buffered-restart, replicas, slow-clients
 * --profile    full (default: 10–20 s of load per scenario, 48 connections) or short (what
 *              `npm test` runs: a couple of seconds, 10 connections)
 * --service    the service entry: dist/server.js (default: what `npm start` runs — build it
 *              first), or a .ts file (src/server.ts) run with tsx's loader, no build needed
 * --keep-logs  keep the service logs even when every scenario passed (they are kept on failure)
 *
 * Prints one line per scenario (acked, stored, lost, duplicates, 5xx, peak RSS, recovery
 * seconds), then a table. Exits 1 if any check failed: anything acknowledged lost, any 5xx
 * other than 503, a 503 without Retry-After, or a scenario's own check.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { passed, table } from './lib/report.js'
import { PROFILES, type ScenarioResult } from './lib/scenario.js'
import { openSuite } from './lib/suite.js'
import { select } from './scenarios/index.js'

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    profile: { type: 'string', default: 'full' },
    service: { type: 'string', default: fileURLToPath(new URL('../../dist/server.js', import.meta.url)) },
    'keep-logs': { type: 'boolean', default: false }
  }
})

const profile = PROFILES[values.profile as keyof typeof PROFILES]
if (profile === undefined) {
  process.stderr.write(`--profile must be one of ${Object.keys(PROFILES).join(', ')}\n`)
  process.exit(2)
}
const entry = resolve(values.service)
if (!existsSync(entry)) {
  process.stderr.write(`${entry} does not exist: run \`npm run build\` first (npm run faults does), or pass --service src/server.ts\n`)
  process.exit(2)
}
let scenarios
try {
  scenarios = select(values.only)
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`)
  process.exit(2)
}

const print = (line: string): void => { process.stdout.write(`${line}\n`) }
const started = performance.now()
const suite = await openSuite({ entry, profile, timeoutMs: profile.name === 'full' ? 300_000 : 120_000, print })
const results: ScenarioResult[] = []
let failed: ScenarioResult[] = []
try {
  for (const scenario of scenarios) results.push(await suite.run(scenario))
  failed = results.filter(r => !passed(r))
} finally {
  await suite.close(values['keep-logs'] || failed.length > 0 || results.length < scenarios.length)
}
print('')
print(table(results))
const logs = values['keep-logs'] || failed.length > 0 ? `; service logs in ${suite.logDir}` : ''
print(`\n${results.length - failed.length}/${results.length} passed in ${((performance.now() - started) / 1000).toFixed(0)} s${logs}`)
if (failed.length > 0) {
  print(`FAILED: ${failed.map(r => r.scenario).join(', ')}`)
  process.exitCode = 1
}
