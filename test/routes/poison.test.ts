import { randomUUID } from 'node:crypto'
import t from 'tap'
import { buildTestApp, event } from '../helpers/app.js'
import { POISON_SECONDS, refusePoison, testDatabase, truncate } from '../helpers/database.js'

const db = await testDatabase(t)
const { sql } = db

// A row that passes validation but that the database refuses: the poison of these tests.
await refusePoison(t, sql)

t.beforeEach(async () => {
  await truncate(sql)
  await sql`truncate ingest_rejects`
})

const stored = async (): Promise<number> => (await sql<Array<{ n: number }>>`select count(*)::int as n from user_metrics`)[0]!.n

t.test('999 good single events and 1 poison event in one flush: 999 stored, the poison one 422 and kept in ingest_rejects', async t => {
  // No idle flushes and a long interval: the 1,000th event fills the batch and sends it, so all
  // 1,000 land in one flush.
  const { app } = await buildTestApp(t, db.url, { FLUSH_WHEN_IDLE: 'false', FLUSH_INTERVAL_MS: '60000', FLUSH_MAX_ROWS: '1000' })
  const poisonId = randomUUID()
  const bodies = Array.from({ length: 1000 }, (_, i) => i === 500
    ? event({ event_id: poisonId, session_id: i + 1, talked_time: POISON_SECONDS })
    : event({ event_id: randomUUID(), session_id: i + 1 }))
  const answers = await Promise.all(bodies.map(payload => app.inject({ method: 'POST', url: '/data', payload })))
  const scrape = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(scrape, /ingest_flushes_total\{trigger="size",outcome="ok"\} 1\n/, 'one flush of 1,000 rows')
  t.match(scrape, /ingest_flush_rows_bucket\{le="1000"\} 1\n/)

  t.same(answers.filter((_, i) => i !== 500).map(a => a.statusCode).filter(s => s !== 200), [], 'the 999 others answered 200')
  t.equal(answers[500]!.statusCode, 422)
  t.match(answers[500]!.json(), { status: 'error', statusCode: 422, code: 'INGEST_REJECTED_BY_DATABASE', message: /SQLSTATE P0001/ })
  t.notMatch(answers[500]!.body, /poison row|user_metrics|trigger/, 'the database message stays in the table and the log')
  t.equal(await stored(), 999)
  const rejects = await sql`select event->>'event_id' as id, (event->>'talked_time')::float8 as talked, code, sqlstate, message, received_at from ingest_rejects`
  t.equal(rejects.length, 1)
  t.match(rejects[0], { id: poisonId, talked: POISON_SECONDS, code: 'INGEST_REJECTED_BY_DATABASE', sqlstate: 'P0001', message: 'poison row' })
  t.ok(Math.abs((rejects[0]!.received_at as Date).getTime() - Date.now()) < 60_000, 'received_at is the receipt time')
  t.match(scrape, /ingest_events_rejected_total\{reason="poison"\} 1/)
})

t.test('a batch with one poison item among 1,000: 200, accepted 999, the item listed in rejected', async t => {
  const { app } = await buildTestApp(t, db.url)
  const batch = Array.from({ length: 1000 }, (_, i) => event({ event_id: randomUUID(), session_id: i + 1, talked_time: i === 321 ? POISON_SECONDS : 60 }))
  const res = await app.inject({ method: 'POST', url: '/data/batch', payload: batch })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body, { status: 'success', accepted: 999, duplicates: 0 })
  t.same(body.rejected, [{ index: 321, code: 'INGEST_REJECTED_BY_DATABASE', message: 'the database refused this event (SQLSTATE P0001); it is kept in ingest_rejects and will not be retried' }])
  t.equal(await stored(), 999)
  t.same(await sql`select event->>'event_id' as id from ingest_rejects`, [{ id: batch[321]!.event_id }])
})

t.test('a session owned by another user is kept in ingest_rejects too', async t => {
  const { app } = await buildTestApp(t, db.url)
  await app.inject({ method: 'POST', url: '/data', payload: event({ user_id: 1, session_id: 5 }) })
  const id = randomUUID()
  const res = await app.inject({ method: 'POST', url: '/data', payload: event({ user_id: 2, session_id: 5, event_id: id }) })
  t.equal(res.statusCode, 409)
  t.match(await sql`select event_id::text, code, sqlstate, message, event->>'user_id' as user from ingest_rejects`,
    [{ event_id: id, code: 'INGEST_SESSION_CONFLICT', sqlstate: null, message: 'session 5 belongs to another user', user: '2' }])
})

t.test('buffered mode: a poison event is kept, the rest of its flush written', async t => {
  const { app } = await buildTestApp(t, db.url, { ACK_MODE: 'buffered' })
  const res = await app.inject({ method: 'POST', url: '/data/batch', payload: [event({ session_id: 1 }), event({ session_id: 2, talked_time: POISON_SECONDS }), event({ session_id: 3 })] })
  t.equal(res.statusCode, 202)
  await app.ingest.buffer.settled()
  t.equal(await stored(), 2)
  t.same(await sql`select code from ingest_rejects`, [{ code: 'INGEST_REJECTED_BY_DATABASE' }])
})
