import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import t from 'tap'
import { startEmbeddedPostgres } from '../../src/database/embedded.js'
import { migrate } from '../../src/database/migrate.js'
import { connect } from '../../src/database/client.js'
import { buildTestApp, event } from '../helpers/app.js'
import { freePort, testDatabase } from '../helpers/database.js'

t.test('/readyz turns 503 when the database stops and 200 again when it returns', async t => {
  // A cluster of the test's own, so the test can stop and start it.
  const dir = await mkdtemp(join(tmpdir(), 'readyz-'))
  await chmod(dir, 0o755)
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const options = { dataDir: join(dir, 'pg'), port: await freePort(), database: 'metrics', log: pino({ level: 'silent' }) }
  let cluster = await startEmbeddedPostgres(options)
  t.teardown(() => cluster.stop())
  const setup = connect(cluster.url, { max: 1, log: pino({ level: 'silent' }) })
  await migrate(setup, pino({ level: 'silent' }))
  await setup.end()

  const { app, logs } = await buildTestApp(t, cluster.url, { READY_DB_TIMEOUT_MS: '500' })
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', checks: { database: 'ok', buffer: 'ok', shutdown: 'ok' } })
  t.match((await app.inject({ method: 'GET', url: '/metrics' })).body, /ingest_ready 1/)

  await cluster.stop()
  const down = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(down.statusCode, 503, 'not ready while the database is down')
  t.match(down.json(), { status: 'not ready', checks: { database: /unreachable|no answer/, buffer: 'ok', shutdown: 'ok' } })
  t.match((await app.inject({ method: 'GET', url: '/metrics' })).body, /ingest_ready 0/)
  t.ok(logs.some(l => l.msg === 'database not reachable: reporting not ready'), 'the change is logged')
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'still alive: liveness does not depend on the database')

  cluster = await startEmbeddedPostgres(options)
  let back = await app.inject({ method: 'GET', url: '/readyz' })
  for (let i = 0; back.statusCode !== 200 && i < 50; i++) {
    await new Promise(resolve => setTimeout(resolve, 100))
    back = await app.inject({ method: 'GET', url: '/readyz' })
  }
  t.equal(back.statusCode, 200, 'ready again once the database is back, without a restart')
  t.equal((await app.inject({ method: 'POST', url: '/data', payload: event() })).statusCode, 200, 'and ingesting')
})

t.test('/readyz reports a buffer at its high-water mark, and shutdown', async t => {
  const db = await testDatabase(t)
  const { app } = await buildTestApp(t, db.url, { RING_CAPACITY: '10', FLUSH_MAX_ROWS: '1', BATCH_MAX_EVENTS: '10', FLUSH_CONCURRENCY: '1', READY_HIGH_WATER: '0.5' })
  const blocker = await db.sql.reserve()
  await blocker`begin`
  await blocker`lock table user_metrics in access exclusive mode`
  const pending = Array.from({ length: 5 }, (_, i) => app.inject({ method: 'POST', url: '/data', payload: event({ session_id: i + 1 }) }))
  while (app.ingest.buffer.size < 5) await new Promise(resolve => setTimeout(resolve, 5))
  const full = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(full.statusCode, 503)
  t.match(full.json().checks, { database: 'ok', buffer: /5 of 10 events held, at or above the high-water mark of 5/ })
  const scrape = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(scrape, /ingest_buffer_high_water_events 5/)
  t.match(scrape, /ingest_buffer_events 5/)
  t.match(scrape, /ingest_flushes_in_flight 1/)
  await blocker`commit`
  blocker.release()
  await Promise.all(pending)
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'ready once drained')

  const closing = app.close()
  const draining = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(draining.statusCode, 503, 'a load balancer can drain the node by it')
  t.match(draining.json().checks, { shutdown: 'shutting down' })
  await closing
})

t.test('request metrics: duration by route, method and status, and one log line per request', async t => {
  const db = await testDatabase(t)
  const { app, logs } = await buildTestApp(t, db.url)
  await app.inject({ method: 'POST', url: '/data', payload: event() })
  await app.inject({ method: 'POST', url: '/data', payload: event({ email: 'x' }) })
  await app.inject({ method: 'GET', url: '/nowhere' })
  const scrape = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(scrape, /http_request_duration_seconds_count\{method="POST",route="\/data",status_code="200"\} 1/)
  t.match(scrape, /http_request_duration_seconds_count\{method="POST",route="\/data",status_code="400"\} 1/)
  t.match(scrape, /http_request_duration_seconds_count\{method="GET",route="\(unmatched\)",status_code="404"\} 1/, 'unknown URLs share one label: bounded cardinality')
  const lines = logs.filter(l => l.msg === 'request')
  t.equal(lines.length, 3, 'one line per request; the scrape itself is not logged at info')
  t.match(lines[0], { method: 'POST', route: '/data', statusCode: 200, reqId: String, durationMs: Number })
  t.notMatch(JSON.stringify(lines), /john\.doe|John Doe/, 'never bodies')
})
