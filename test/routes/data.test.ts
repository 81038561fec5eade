import t from 'tap'
import { buildTestApp, event } from '../helpers/app.js'
import { freePort, testDatabase, truncate } from '../helpers/database.js'

const db = await testDatabase(t)
const { sql } = db
t.beforeEach(async () => { await truncate(sql) })

const count = async (table: 'users' | 'sessions' | 'user_metrics'): Promise<number> => {
  const [row] = await sql.unsafe<Array<{ n: number }>>(`select count(*)::int as n from ${table}`)
  return row!.n
}

t.test('durable 200: the row is visible to another connection the moment the response arrives', async t => {
  const { app } = await buildTestApp(t, db.url)
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  for (let i = 1; i <= 20; i++) {
    const res = await fetch(`${address}/data`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event({ session_id: i, talked_time: 120 + i }))
    })
    t.equal(res.status, 200)
    t.same(await res.json(), { status: 'success' })
    const rows = await sql`select talked_time::text from user_metrics where session_id = ${i}`
    t.same(rows, [{ talked_time: `00:02:${String(i).padStart(2, '0')}` }], `event ${i} committed before its 200`)
  }
})

t.test('500 concurrent first requests for 50 new users and 200 new sessions: all 200, nothing lost, no error logged', async t => {
  const { app, logs } = await buildTestApp(t, db.url)
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const bodies = Array.from({ length: 500 }, (_, i) => {
    const session = (i % 200) + 1
    const user = ((session - 1) % 50) + 1
    return event({ user_id: user, name: `User ${user}`, email: `user${user}@example.com`, session_id: session, talked_time: i, timestamp: 1_700_000_000 + i })
  })
  const statuses = await Promise.all(bodies.map(async body => {
    const res = await fetch(`${address}/data`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    await res.arrayBuffer()
    return res.status
  }))
  t.same(statuses.filter(s => s !== 200), [], 'every request answered 200')
  t.equal(await count('user_metrics'), 500, 'exactly 500 metric rows')
  t.equal(await count('users'), 50, '50 users')
  t.equal(await count('sessions'), 200, '200 sessions')
  t.same(await sql`select sum(extract(epoch from talked_time))::int as total from user_metrics`, [{ total: (499 * 500) / 2 }], 'each event once')
  t.same(logs.filter(l => l.level >= 50), [], 'no error logged')
  const batched = logs.filter(l => l.msg === 'request').length
  t.equal(batched, 500, 'one log line per request')
})

t.test('a session owned by another user: 409 naming session_id, nothing stored for it', async t => {
  const { app } = await buildTestApp(t, db.url)
  const first = await app.inject({ method: 'POST', url: '/data', payload: event({ user_id: 1, session_id: 5 }) })
  t.equal(first.statusCode, 200)
  const second = await app.inject({ method: 'POST', url: '/data', payload: event({ user_id: 2, session_id: 5 }) })
  t.equal(second.statusCode, 409)
  t.match(second.json(), { status: 'error', code: 'INGEST_SESSION_CONFLICT', details: [{ path: '/session_id' }] })
  t.equal(await count('user_metrics'), 1)
  t.equal(await count('users'), 1)
})

t.test('ring full: 503 with Retry-After at once, and the events already taken still commit', async t => {
  const { app } = await buildTestApp(t, db.url, { RING_CAPACITY: '2', FLUSH_MAX_ROWS: '1', FLUSH_CONCURRENCY: '1', BATCH_MAX_EVENTS: '2', RETRY_AFTER_SECONDS: '3' })
  // Hold the metrics table so the first flush cannot finish: the ring fills up behind it.
  const blocker = await sql.reserve()
  await blocker`begin`
  await blocker`lock table user_metrics in access exclusive mode`
  const pending = [
    app.inject({ method: 'POST', url: '/data', payload: event({ session_id: 1 }) }),
    app.inject({ method: 'POST', url: '/data', payload: event({ session_id: 2 }) })
  ]
  await t.resolveMatch(waitFor(() => app.ingest.buffer.size === 2), true, 'two events held: one in flight, one waiting')
  const refused = await app.inject({ method: 'POST', url: '/data', payload: event({ session_id: 3 }) })
  t.equal(refused.statusCode, 503)
  t.equal(refused.headers['retry-after'], '3')
  t.match(refused.json(), { status: 'error', code: 'INGEST_BUFFER_FULL' })
  await blocker`commit`
  blocker.release()
  const answers = await Promise.all(pending)
  t.same(answers.map(a => a.statusCode), [200, 200])
  t.same(await sql`select session_id::int from user_metrics order by 1`, [{ session_id: 1 }, { session_id: 2 }], 'the refused event was not stored')
  const scrape = await app.inject({ method: 'GET', url: '/metrics' })
  t.match(scrape.body, /ingest_events_rejected_total\{reason="buffer_full"\} 1/)
})

t.test('buffered mode: 202 at once, written shortly after, conflicts counted', async t => {
  const { app } = await buildTestApp(t, db.url, { ACK_MODE: 'buffered' })
  const accepted = await app.inject({ method: 'POST', url: '/data', payload: event({ user_id: 1, session_id: 9 }) })
  t.equal(accepted.statusCode, 202)
  t.same(accepted.json(), { status: 'accepted' })
  await app.ingest.buffer.settled()
  t.equal(await count('user_metrics'), 1, 'written once the buffer settles')
  const conflicting = await app.inject({ method: 'POST', url: '/data', payload: event({ user_id: 2, session_id: 9 }) })
  t.equal(conflicting.statusCode, 202, 'buffered mode cannot know yet')
  await app.ingest.buffer.settled()
  const scrape = await app.inject({ method: 'GET', url: '/metrics' })
  t.match(scrape.body, /ingest_events_rejected_total\{reason="conflict"\} 1/, 'the conflict is counted')
  t.match(scrape.body, /ingest_events_committed_total 1/)
})

t.test('database unreachable in durable mode: 503 with Retry-After, and the failure is logged', async t => {
  const port = await freePort()
  const { app, logs } = await buildTestApp(t, `postgres://nobody:nothing@127.0.0.1:${port}/none`)
  const res = await app.inject({ method: 'POST', url: '/data', payload: event() })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '1')
  t.match(res.json(), { status: 'error', code: 'INGEST_DATABASE_UNAVAILABLE' })
  t.notMatch(res.body, /127\.0\.0\.1|ECONNREFUSED|nobody/, 'no connection details leak to the client')
  for (let i = 0; i < 20; i++) {
    t.equal((await app.inject({ method: 'POST', url: '/data', payload: event({ session_id: i + 2 }) })).statusCode, 503)
  }
  const failures = logs.filter(l => l.msg === 'flush failed')
  t.equal(failures.length, 1, 'an outage logs once per interval, not once per flush')
  t.match(failures[0], { level: 50, folded: 0 })
  const scrape = await app.inject({ method: 'GET', url: '/metrics' })
  t.match(scrape.body, /ingest_database_errors_total\{class="econnrefused"\} 21/)
  t.match(scrape.body, /ingest_events_rejected_total\{reason="database_unavailable"\} 21/)
})

t.test('closing: every accepted event is written before the pool closes, and later events are refused', async t => {
  const { app } = await buildTestApp(t, db.url, { FLUSH_WHEN_IDLE: 'false', FLUSH_INTERVAL_MS: '60000', ACK_MODE: 'buffered' })
  for (let i = 1; i <= 10; i++) {
    const res = await app.inject({ method: 'POST', url: '/data', payload: event({ session_id: i }) })
    t.equal(res.statusCode, 202)
  }
  t.equal(await count('user_metrics'), 0, 'nothing written yet: no trigger has fired')
  const closing = app.close()
  const late = await app.inject({ method: 'POST', url: '/data', payload: event({ session_id: 99 }) })
  t.equal(late.statusCode, 503, 'an event after close() starts is refused')
  t.equal(late.headers['retry-after'], '1')
  t.equal(late.headers.connection, 'close', 'the client is told to go elsewhere')
  t.match(late.json(), { code: 'INGEST_SHUTTING_DOWN' })
  await closing
  t.equal(await count('user_metrics'), 10, 'all ten written by the close flush')
})

async function waitFor (condition: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const until = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > until) return false
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  return true
}

t.test('light load does not pay the timer: with a 60 s interval, sequential events are flushed by idle writers', async t => {
  const { app } = await buildTestApp(t, db.url, { FLUSH_INTERVAL_MS: '60000' })
  for (let i = 1; i <= 10; i++) {
    const res = await app.inject({ method: 'POST', url: '/data', payload: event({ session_id: i }) })
    t.equal(res.statusCode, 200)
  }
  const scrape = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(scrape, /ingest_flushes_total\{trigger="idle",outcome="ok"\} 10/, 'ten flushes, each started by a free writer')
  t.match(scrape, /ingest_flushes_total\{trigger="time",outcome="ok"\} 0\n/, 'none waited for the timer')
  t.match(scrape, /ingest_event_commit_latency_seconds_count 10/)
  t.match(scrape, /ingest_buffer_capacity_events 100000/)
})

t.test('buffered mode waits out an unreachable database, and on shutdown counts what it could not write', async t => {
  const port = await freePort()
  const { app, logs } = await buildTestApp(t, `postgres://nobody:nothing@127.0.0.1:${port}/none`, { ACK_MODE: 'buffered', SHUTDOWN_TIMEOUT_MS: '300' })
  const res = await app.inject({ method: 'POST', url: '/data', payload: event() })
  t.equal(res.statusCode, 202)
  await t.resolveMatch(waitFor(() => logs.some(l => l.msg === 'flush failed, retrying')), true, 'the flush is retried, not dropped')
  t.equal(app.ingest.buffer.size, 1, 'the event is still held')
  await app.close()
  const lost = logs.find(l => l.msg === 'flush failed: acknowledged events lost')
  t.match(lost, { level: 50, lost: 1 }, 'the loss is logged with its count once the deadline passes')
  t.equal(app.ingest.lostOnShutdown, 1, 'and counted, so the process exits non-zero')
})

t.test('a refusal that is not about the data (a privilege error) is a 500 that leaks nothing', async t => {
  await sql`create or replace function refuse_666() returns trigger language plpgsql as $$
    begin
      if new.talked_time = interval '666 seconds' then raise exception 'secret internal detail' using errcode = 'insufficient_privilege'; end if;
      return new;
    end $$`
  await sql`create trigger refuse_666 before insert on user_metrics for each row execute function refuse_666()`
  t.teardown(async () => { await sql`drop trigger refuse_666 on user_metrics` })
  const { app, logs } = await buildTestApp(t, db.url)
  const res = await app.inject({ method: 'POST', url: '/data', payload: event({ talked_time: 666 }) })
  t.equal(res.statusCode, 500)
  t.same(res.json(), { status: 'error', statusCode: 500, code: 'INGEST_INTERNAL', error: 'Internal Server Error', message: 'internal error' })
  t.notMatch(res.body, /secret|insert|user_metrics/, 'no SQL or database message in the body')
  t.ok(logs.some(l => l.level === 50 && l.msg === 'flush failed'), 'the real error is logged')
  t.equal(await count('user_metrics'), 0)
})
