import { randomUUID } from 'node:crypto'
import { gzipSync, deflateSync } from 'node:zlib'
import t from 'tap'
import { buildTestApp, event } from '../helpers/app.js'
import { testDatabase, truncate } from '../helpers/database.js'

const db = await testDatabase(t)
const { sql } = db
t.beforeEach(async () => { await truncate(sql) })

const count = async (): Promise<number> => {
  const [row] = await sql<Array<{ n: number }>>`select count(*)::int as n from user_metrics`
  return row!.n
}
const events = (n: number, offset = 0): Array<Record<string, unknown>> =>
  Array.from({ length: n }, (_, i) => event({ user_id: ((i + offset) % 50) + 1, session_id: i + offset + 1, name: `User ${(i + offset) % 50}`, talked_time: i }))
const ndjson = (items: unknown[]): string => items.map(item => JSON.stringify(item)).join('\n') + '\n'

t.test('a 1,000-event JSON batch stores exactly 1,000 rows', async t => {
  const { app } = await buildTestApp(t, db.url)
  const res = await app.inject({ method: 'POST', url: '/data/batch', payload: events(1_000) })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  t.same(res.json(), { status: 'success', accepted: 1_000, duplicates: 0, rejected: [] })
  t.equal(await count(), 1_000)
})

t.test('the same batch as NDJSON, blank lines ignored, stores exactly 1,000 rows', async t => {
  const { app } = await buildTestApp(t, db.url)
  const body = '\n' + ndjson(events(500)) + '\n\n' + ndjson(events(500, 500))
  const res = await app.inject({ method: 'POST', url: '/data/batch', headers: { 'content-type': 'application/x-ndjson' }, payload: body })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  t.match(res.json(), { accepted: 1_000 })
  t.equal(await count(), 1_000)
})

t.test('one bad item among 1,000: 400 naming its index, nothing stored', async t => {
  const { app } = await buildTestApp(t, db.url)
  const batch = events(1_000)
  batch[617] = { ...batch[617], email: 'not-an-email' }
  const res = await app.inject({ method: 'POST', url: '/data/batch', payload: batch })
  t.equal(res.statusCode, 400)
  const body = res.json()
  t.match(body, { status: 'error', code: 'INGEST_VALIDATION' })
  t.same(body.details, [{ index: 617, path: '/email', message: 'must be a valid email' }])
  t.match(body.message, /\[617\]\/email/)
  t.equal(await count(), 0, 'all or nothing')
})

t.test('problems found after the schema (a future timestamp) are named by index too', async t => {
  const { app } = await buildTestApp(t, db.url)
  const batch = events(10)
  batch[3] = { ...batch[3], timestamp: Date.now() / 1000 + 10 * 86_400 }
  const res = await app.inject({ method: 'POST', url: '/data/batch', payload: batch })
  t.equal(res.statusCode, 400)
  t.same(res.json().details, [{ index: 3, path: '/timestamp', message: 'must not be more than 86400 seconds in the future' }])
  t.equal(await count(), 0)
})

t.test('at most 100 problems are listed, the rest are counted', async t => {
  const { app } = await buildTestApp(t, db.url)
  const batch = events(150).map(e => ({ ...e, talked_time: -1 }))
  const res = await app.inject({ method: 'POST', url: '/data/batch', payload: batch })
  t.equal(res.statusCode, 400)
  t.equal(res.json().details.length, 100)
  t.equal(res.json().omittedDetails, 50)
})

t.test('malformed NDJSON names its line', async t => {
  const { app } = await buildTestApp(t, db.url)
  const body = ndjson(events(2)) + '\n{"user_id": 3,\n'
  const res = await app.inject({ method: 'POST', url: '/data/batch', headers: { 'content-type': 'application/x-ndjson' }, payload: body })
  t.equal(res.statusCode, 400)
  t.match(res.json(), { code: 'INGEST_INVALID_JSON', message: /^line 4 is not valid JSON/ })
  t.equal(await count(), 0)
})

t.test('more events than BATCH_MAX_EVENTS: 413 before validation', async t => {
  const { app } = await buildTestApp(t, db.url, { BATCH_MAX_EVENTS: '10' })
  const res = await app.inject({ method: 'POST', url: '/data/batch', payload: events(11) })
  t.equal(res.statusCode, 413)
  t.match(res.json(), { code: 'INGEST_BATCH_TOO_LARGE', message: /11 events; at most 10/ })
})

t.test('a batch larger than the free space: 503 + Retry-After, never a partial store', async t => {
  const { app } = await buildTestApp(t, db.url, { RING_CAPACITY: '10', FLUSH_MAX_ROWS: '10', BATCH_MAX_EVENTS: '10', FLUSH_CONCURRENCY: '1' })
  const blocker = await sql.reserve()
  await blocker`begin`
  await blocker`lock table user_metrics in access exclusive mode`
  const first = app.inject({ method: 'POST', url: '/data/batch', payload: events(6) })
  while (app.ingest.buffer.size < 6) await new Promise(resolve => setTimeout(resolve, 5))
  const second = await app.inject({ method: 'POST', url: '/data/batch', payload: events(6, 100) })
  t.equal(second.statusCode, 503)
  t.ok(second.headers['retry-after'])
  t.match(second.json(), { code: 'INGEST_BUFFER_FULL' })
  await blocker`commit`
  blocker.release()
  t.equal((await first).statusCode, 200)
  t.equal(await count(), 6, 'the first batch whole, nothing of the second')
})

t.test('a session owned by another user: 200 for the rest, the item listed in rejected', async t => {
  const { app } = await buildTestApp(t, db.url)
  await app.inject({ method: 'POST', url: '/data', payload: event({ user_id: 1, session_id: 5 }) })
  const batch = events(4, 10)
  batch[2] = event({ user_id: 2, session_id: 5 })
  const res = await app.inject({ method: 'POST', url: '/data/batch', payload: batch })
  t.equal(res.statusCode, 200)
  t.same(res.json(), {
    status: 'success',
    accepted: 3,
    duplicates: 0,
    rejected: [{ index: 2, code: 'INGEST_SESSION_CONFLICT', message: 'session 5 belongs to another user' }]
  })
  t.equal(await count(), 4)
})

t.test('buffered mode: 202 with the count, written shortly after', async t => {
  const { app } = await buildTestApp(t, db.url, { ACK_MODE: 'buffered' })
  const res = await app.inject({ method: 'POST', url: '/data/batch', payload: events(25) })
  t.equal(res.statusCode, 202)
  t.same(res.json(), { status: 'accepted', accepted: 25, duplicates: 0, rejected: [] })
  await app.ingest.buffer.settled()
  t.equal(await count(), 25)
})

t.test('gzip and deflate bodies are stored, on both routes', async t => {
  const { app } = await buildTestApp(t, db.url)
  const single = await app.inject({
    method: 'POST',
    url: '/data',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    payload: gzipSync(JSON.stringify(event({ session_id: 900 })))
  })
  t.equal(single.statusCode, 200, single.body)
  const batch = await app.inject({
    method: 'POST',
    url: '/data/batch',
    headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
    payload: gzipSync(ndjson(events(100)))
  })
  t.equal(batch.statusCode, 200, batch.body)
  const deflated = await app.inject({
    method: 'POST',
    url: '/data/batch',
    headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' },
    payload: deflateSync(JSON.stringify(events(10, 200)))
  })
  t.equal(deflated.statusCode, 200, deflated.body)
  t.equal(await count(), 111)
})

t.test('corrupt compressed data is a 400, an unsupported encoding a 415', async t => {
  const { app } = await buildTestApp(t, db.url)
  const corrupt = await app.inject({
    method: 'POST',
    url: '/data',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    payload: Buffer.from('this is not gzip at all')
  })
  t.equal(corrupt.statusCode, 400)
  t.equal(corrupt.json().status, 'error')
  const brotli = await app.inject({
    method: 'POST',
    url: '/data',
    headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
    payload: JSON.stringify(event())
  })
  t.equal(brotli.statusCode, 415)
  t.equal(await count(), 0)
})

t.test('the same event_id three times (single, in a batch, after a restart) is stored once', async t => {
  const id = randomUUID()
  const first = await buildTestApp(t, db.url)
  const single = await first.app.inject({ method: 'POST', url: '/data', payload: event({ event_id: id }) })
  t.same(single.json(), { status: 'success' })
  const batch = await first.app.inject({ method: 'POST', url: '/data/batch', payload: [event({ event_id: id }), event({ event_id: randomUUID(), session_id: 2 })] })
  t.same(batch.json(), { status: 'success', accepted: 1, duplicates: 1, rejected: [] })
  await first.app.close()

  const second = await buildTestApp(t, db.url)
  const retried = await second.app.inject({ method: 'POST', url: '/data', payload: event({ event_id: id.toUpperCase() }) })
  t.equal(retried.statusCode, 200)
  t.same(retried.json(), { status: 'success', duplicate: true }, 'acknowledged as success, flagged as a duplicate')
  t.same(await sql`select count(*)::int as n from user_metrics where event_id = ${id}`, [{ n: 1 }], 'one row for the id')
  const scrape = await second.app.inject({ method: 'GET', url: '/metrics' })
  t.match(scrape.body, /ingest_events_duplicate_total 1/)
})

t.test('repeats of one event_id inside a single batch are stored once', async t => {
  const { app } = await buildTestApp(t, db.url)
  const id = randomUUID()
  const res = await app.inject({ method: 'POST', url: '/data/batch', payload: [event({ event_id: id }), event({ event_id: id }), event({ event_id: id })] })
  t.same(res.json(), { status: 'success', accepted: 1, duplicates: 2, rejected: [] })
  t.equal(await count(), 1)
})

t.test('one event_id at two timestamps in a batch is two events; each repeated is a duplicate', async t => {
  const { app } = await buildTestApp(t, db.url)
  const id = randomUUID()
  const at = Date.now() / 1000
  const payload = [at, at - 60, at - 60, at, at - 120].map((timestamp, i) => event({ event_id: i === 3 ? id.toUpperCase() : id, timestamp }))
  const res = await app.inject({ method: 'POST', url: '/data/batch', payload })
  t.same(res.json(), { status: 'success', accepted: 3, duplicates: 2, rejected: [] }, 'the unique key is (event_id, timestamp), as in the database')
  t.same(await sql`select count(*)::int as n from user_metrics where event_id = ${id}`, [{ n: 3 }])
})

t.test('event_id must be a UUID', async t => {
  const { app } = await buildTestApp(t, db.url)
  const res = await app.inject({ method: 'POST', url: '/data', payload: event({ event_id: 'retry-1' }) })
  t.equal(res.statusCode, 400)
  t.same(res.json().details, [{ path: '/event_id', message: 'must be a valid uuid' }])
})
