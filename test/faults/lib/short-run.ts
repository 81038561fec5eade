/**
 * The fault suite's short profile as tap subtests, shared by the test files that run it in
 * `npm test`: one subtest per scenario, failing if anything acknowledged is lost, any 5xx but 503
 * is answered, a 503 lacks Retry-After, or a check of the scenario's own does not hold. A
 * scenario whose tool is not on the PATH is skipped, saying which.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { select } from '../scenarios/index.js'
import { PROFILES } from './scenario.js'
import { openSuite } from './suite.js'

const ENTRY = process.env.FAULTS_SERVICE || fileURLToPath(new URL('../../../src/server.ts', import.meta.url))

/** `skip` reasons by scenario-name prefix: the real tool each needs, which .ci/run installs from Debian. */
function missingTools (): Array<[prefix: string, reason: string | false]> {
  const has = (command: string, flag: string): boolean => spawnSync(command, [flag], { stdio: 'ignore' }).error === undefined
  return [
    ['replicas', has('haproxy', '-v') ? false : 'haproxy is not on PATH (.ci/run installs it)'],
    ['stream-', has('nats-server', '--version') ? false : 'nats-server is not on PATH (.ci/run installs it)']
  ]
}

export async function runShortScenarios (t: Test, names: string): Promise<void> {
  const suite = await openSuite({ entry: ENTRY, profile: PROFILES.short, timeoutMs: 60_000, print: line => { t.comment(line) } })
  // The service logs stay (their directory is in the first comment) when a scenario failed.
  t.teardown(() => suite.close(!t.passing()))
  const tools = missingTools()
  for (const scenario of select(names)) {
    const skip = tools.find(([prefix]) => scenario.name.startsWith(prefix))?.[1] ?? false
    t.test(`${scenario.name}: ${scenario.title}`, { skip }, async t => {
      const result = await suite.run(scenario)
      t.ok(result.acked > 0, `${result.acked} events acknowledged`)
      t.equal(result.lost, 0, 'no acknowledged event is missing from user_metrics')
      t.equal(result.duplicates, 0, 'no event_id has two rows')
      t.equal(result.unexpected5xx, 0, 'no 5xx other than 503')
      // The reasons go in the assertion's name: a CI log that keeps only the names still says why.
      t.same(result.failures, [], result.failures.length === 0 ? 'every check of the scenario holds' : `checks that failed: ${result.failures.join(' | ')}`)
    })
  }
}
