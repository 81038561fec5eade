/**
 * The client against the real service on a real PostgreSQL: delivery through a database restart
 * and 503s, refusals mapped back to their events, the bounded queue, close()'s deadline.
 */
import pino from 'pino'
import postgres from 'postgres'
import t from 'tap'
import { migrate } from '../../src/database/migrate.js'
import { IngestClient, type MetricEvent, type Rejection } from '../../src/client/index.js'
import { freePort } from '../../harness/free-port.js'
import { PostgresCluster } from '../faults/lib/postgres.js'
import { buildTestApp, event } from '../helpers/app.js'
import { POISON_SECONDS, refusePoison, testDatabase, truncate } from '../helpers/database.js'

const db = await testDatabase(t)
const { sql } = db
t.beforeEach(async () => { await truncate(sql) })

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** Event i of a run: user and session derived from i, so none conflicts with another. */
function nth (i: number, overrides: Partial<MetricEvent> = {}): MetricEvent {
  const user = (i % 500) + 1
  return event({ user_id: user, name: `User ${user}`, email: `user${user}@example.com`, session_id: user * 1_000 + Math.floor(i / 500), talked_time: i % 600, timestamp: 1_700_000_000 + i, ...overrides }) as MetricEvent
}

t.test('events are batched, sent with a UUIDv7 each, gzipped when large, and stored once', async t => {
  const { app } = await buildTestApp(t, db.url)
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  const client = new IngestClient({ url, maxBatchEvents: 200, gzipAboveBytes: 4_096 })
  const ids: string[] = []
  for (let i = 0; i < 1_234; i++) {
    const result = client.track(nth(i))
    if (!result.accepted) throw new Error(`refused: ${result.reason}`)
    ids.push(result.eventId)
  }
  t.ok(ids.every(id => UUID_V7.test(id)), 'every event got a UUIDv7')
  t.equal(new Set(ids).size, 1_234, 'all different')
  const original = nth(0)
  client.track(original)
  t.equal(original.event_id, undefined, 'the caller\'s object is not changed')
  await client.flush()
  t.match(client.stats, { sent: 1_235, queued: 0, inFlight: 0, retried: 0, dropped: 0, rejected: 0 })
  const [row] = await sql<Array<{ n: number, ids: number }>>`select count(*)::int as n, count(distinct event_id)::int as ids from user_metrics`
  t.same(row, { n: 1_235, ids: 1_235 })
  const report = await client.close()
  t.same(report, { sent: 1_235, undelivered: [] })
  t.same(client.track(nth(9)), { accepted: false, reason: 'closed' })
})

t.test('50,000 events through a PostgreSQL restart and a full buffer: every event stored exactly once', async t => {
  // A PostgreSQL of its own, which this test stops and starts (the fault suite's).
  const cluster = await PostgresCluster.create()
  t.teardown(async () => { await cluster.destroy() })
  await cluster.start()
  const url = await cluster.createDatabase('client_restart')
  const check = postgres(url, { max: 1, onnotice: () => {} })
  t.teardown(async () => { await check.end({ timeout: 5 }) })
  await migrate(check, pino({ level: 'silent' }))
  // A small buffer, so the load also meets 503 INGEST_BUFFER_FULL, not only the outage's.
  const { app } = await buildTestApp(t, url, { RING_CAPACITY: '3000', BATCH_MAX_EVENTS: '1000', LOG_LEVEL: 'silent' })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const rejected: Rejection[] = []
  const client = new IngestClient({ url: address, maxBatchEvents: 1_000, maxInFlight: 8, retryBaseMs: 50, retryMaxMs: 1_000, onRejected: r => { rejected.push(...r) } })
  const TOTAL = 50_000
  let restarted = false
  let refused = 0
  for (let i = 0; i < TOTAL; i++) {
    // Wait for room instead of being refused: the caller's side of backpressure.
    while (client.stats.queued >= 20_000) await new Promise(resolve => setTimeout(resolve, 10))
    if (!client.track(nth(i)).accepted) refused++
    if (i === 20_000) {
      await cluster.stop('immediate')
      setTimeout(() => { cluster.start().then(() => { restarted = true }, (err: unknown) => { t.fail(String(err)) }) }, 1_500)
    }
  }
  const report = await client.close({ timeoutMs: 120_000 })
  t.equal(refused, 0, 'track() took every event')
  t.ok(restarted, 'PostgreSQL was stopped and started mid-run')
  t.same(report.undelivered, [], 'nothing undelivered')
  t.same(rejected, [], 'nothing refused')
  const stats = client.stats
  t.equal(stats.sent, TOTAL, 'every event acknowledged')
  t.ok(stats.retried > 0, `${stats.retried} events were sent again after 503s or lost connections`)
  const [row] = await check<Array<{ n: number, ids: number }>>`select count(*)::int as n, count(distinct event_id)::int as ids from user_metrics`
  t.same(row, { n: TOTAL, ids: TOTAL }, 'stored exactly once each')
  t.comment(`client: sent ${stats.sent}, retried ${stats.retried}, duplicates ${stats.duplicates}; stored ${row!.n}`)
})

t.test('refusals come back with the events that caused them; the rest is stored', async t => {
  await refusePoison(t, sql, 'refuse_client_poison')
  const { app } = await buildTestApp(t, db.url)
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  const rejected: Rejection[] = []
  // validate: false, so the server's own 400 is met too.
  const client = new IngestClient({ url, validate: false, onRejected: r => { rejected.push(...r) } })
  for (let i = 0; i < 100; i++) client.track(nth(i))
  client.track(nth(100, { talked_time: POISON_SECONDS }))
  client.track(nth(101, { talked_time: -5 }))
  client.track(nth(102, { user_id: 999_999, session_id: 1_000 }))
  await client.flush()
  const byCode = Object.fromEntries(rejected.map(r => [r.code, r]))
  t.same(Object.keys(byCode).sort(), ['INGEST_REJECTED_BY_DATABASE', 'INGEST_SESSION_CONFLICT', 'INGEST_VALIDATION'])
  t.equal(byCode.INGEST_REJECTED_BY_DATABASE!.event.talked_time, POISON_SECONDS, 'the poison event is the one reported')
  t.equal(byCode.INGEST_SESSION_CONFLICT!.event.user_id, 999_999)
  t.match(byCode.INGEST_VALIDATION, { status: 400, event: { talked_time: -5 }, details: [{ path: '/talked_time', message: /must be >= 0/ }] })
  t.match(client.stats, { sent: 100, rejected: 3, dropped: 0 })
  const [row] = await sql<Array<{ n: number }>>`select count(*)::int as n from user_metrics`
  t.equal(row!.n, 100, 'the 100 good events are stored')

  const validating = new IngestClient({ url })
  const invalid = validating.track(nth(200, { email: 'not an address' }))
  t.match(invalid, { accepted: false, reason: 'invalid', problems: [{ path: '/email' }] }, 'with validate on, track() refuses it at once')
  await validating.close()
})

t.test('a request over the server\'s body limit is split until it fits', async t => {
  const { app } = await buildTestApp(t, db.url, { BODY_LIMIT_BYTES: '4096' })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  const client = new IngestClient({ url, maxBatchEvents: 100, gzipAboveBytes: 10_000_000 })
  for (let i = 0; i < 100; i++) client.track(nth(i))
  await client.flush()
  t.match(client.stats, { sent: 100, rejected: 0, retried: 0 })
  const [row] = await sql<Array<{ n: number }>>`select count(*)::int as n from user_metrics`
  t.equal(row!.n, 100)
})

t.test('a wrong API key is refused for good, not retried', async t => {
  const { app } = await buildTestApp(t, db.url, { INGEST_API_KEYS: 'right' })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  const rejected: Rejection[] = []
  const wrong = new IngestClient({ url, apiKey: 'wrong', onRejected: r => { rejected.push(...r) } })
  wrong.track(nth(1))
  await wrong.flush()
  t.match(rejected, [{ status: 401, code: 'INGEST_UNAUTHORIZED' }])
  t.match(wrong.stats, { sent: 0, retried: 0, rejected: 1 })
  const right = new IngestClient({ url, apiKey: 'right' })
  right.track(nth(2))
  await right.flush()
  t.equal(right.stats.sent, 1)
})

t.test('a full queue refuses track() and says so; close() keeps its deadline and hands back what it could not deliver', async t => {
  // Nothing listens here: every request fails and is retried.
  const url = `http://127.0.0.1:${await freePort()}`
  const dropped: Array<{ events: MetricEvent[], reason: string }> = []
  const client = new IngestClient({ url, maxQueueEvents: 10, maxBatchEvents: 5, maxInFlight: 1, retryBaseMs: 20, retryMaxMs: 100, onDropped: (events, reason) => { dropped.push({ events, reason }) } })
  const results = Array.from({ length: 16 }, (_, i) => client.track(nth(i)))
  t.same(results.slice(0, 15).map(r => r.accepted), Array(15).fill(true), '5 in flight, 10 queued')
  t.same(results[15], { accepted: false, reason: 'queue_full' })
  t.match(dropped, [{ reason: 'queue_full', events: [{ session_id: nth(15).session_id }] }])
  t.match(client.stats, { queued: 10, inFlight: 5, dropped: 1 })
  await new Promise(resolve => setTimeout(resolve, 300))
  t.ok(client.stats.retried >= 5, 'the batch in flight is being retried')

  const started = Date.now()
  const report = await client.close({ timeoutMs: 500 })
  const took = Date.now() - started
  t.ok(took >= 450 && took < 2_000, `close() returned after ${took} ms (deadline 500 ms)`)
  t.equal(report.sent, 0)
  t.equal(report.undelivered.length, 15, 'every accepted event is handed back')
  t.same(new Set(report.undelivered.map(e => e.event_id)), new Set(results.flatMap(r => r.accepted ? [r.eventId] : [])))
  t.equal(client.stats.dropped, 16)
  t.match(dropped.slice(1).map(d => d.reason), ['closed'])
})

t.test('close() hands back a queue of 150,000 events whole', async t => {
  const client = new IngestClient({ url: `http://127.0.0.1:${await freePort()}`, maxQueueEvents: 200_000, validate: false, retryBaseMs: 20 })
  for (let i = 0; i < 150_000; i++) client.track(nth(i))
  const report = await client.close({ timeoutMs: 200 })
  t.equal(report.undelivered.length, 150_000, 'every event, in one array (no spread into a call: that overflowed the stack)')
  t.equal(client.stats.dropped, 150_000)
})
