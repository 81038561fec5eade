/**
 * RETENTION_DAYS and REJECTS_RETENTION_DAYS: old partitions leave whole at start-up and on the
 * schedule, the rest stay; an event already beyond retention is refused at the door.
 */
import t from 'tap'
import { writeBatch } from '../../src/ingest/writer.js'
import type { MetricEvent } from '../../src/ingest/schema.js'
import { PartitionInterval } from '../../src/config.js'
import { intervalStart, listPartitions } from '../../src/storage/partitions.js'
import { buildTestApp, event } from '../helpers/app.js'
import { testDatabase } from '../helpers/database.js'

const DAY_S = 86_400
const db = await testDatabase(t)
const { sql } = db
const now = Date.now() / 1000
const ev = (overrides: Record<string, unknown>): MetricEvent => event(overrides) as unknown as MetricEvent
const dayName = (seconds: number): string => `user_metrics_p${new Date(intervalStart(seconds * 1000, PartitionInterval.day)).toISOString().slice(0, 10).replaceAll('-', '')}`

t.test('retention drops whole partitions past RETENTION_DAYS and keeps every row younger', async t => {
  // History written before retention was turned on: 45, 31, 29 and 1 days old.
  const ages = [45, 31, 29, 1]
  await writeBatch(sql, ages.map((age, i) => ev({ user_id: 1, session_id: 1, event_id: `2b4e28ba-2fa1-4d3b-a3f5-ef19b5a7630${i}`, timestamp: now - age * DAY_S })))
  // Rejects: one from 40 days ago, one from today.
  await sql`insert into ingest_rejects (event, code, message, received_at, rejected_at) values
    ('{}', 'INGEST_REJECTED_BY_DATABASE', 'old', now(), now() - interval '40 days'),
    ('{}', 'INGEST_REJECTED_BY_DATABASE', 'new', now(), now())`

  const { app, logs } = await buildTestApp(t, db.url, { RETENTION_DAYS: '30', REJECTS_RETENTION_DAYS: '30' })
  const names = (await listPartitions(sql)).map(p => p.name)
  t.notOk(names.includes(dayName(now - 45 * DAY_S)), 'the 45-day-old partition is gone')
  t.notOk(names.includes(dayName(now - 31 * DAY_S)), 'the 31-day-old one too: all of it is older than 30 days')
  t.ok(names.includes(dayName(now - 29 * DAY_S)), 'the 29-day-old one stays')
  const kept = await sql<Array<{ age: number }>>`select round(extract(epoch from now() - "timestamp") / 86400)::int as age from user_metrics order by 1`
  t.same(kept.map(row => row.age), [1, 29], 'the younger rows are all still there')
  t.same((await sql`select message from ingest_rejects`).map(row => row.message), ['new'], 'old rejects deleted, recent ones kept')

  const scrape = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(scrape, /ingest_partitions_dropped_total 2\b/)
  t.match(scrape, /ingest_rejects_purged_total 1\b/)
  t.match(scrape, /ingest_maintenance_runs_total\{outcome="ok"\} 1\b/)
  t.ok(logs.some(line => line.msg === 'partitions past retention dropped'), 'logged')
  const dropped = await sql`select count(*)::int as n from pg_class where relname = ${dayName(now - 45 * DAY_S)}`
  t.same(dropped, [{ n: 0 }], 'dropped, not merely detached')

  t.test('an event older than the window is refused at the door with its own code, nothing stored', async t => {
    const before = await sql`select count(*)::int as n from user_metrics`
    const old = await app.inject({ method: 'POST', url: '/data', payload: event({ timestamp: now - 31 * DAY_S }) })
    t.equal(old.statusCode, 422)
    t.match(old.json(), { code: 'INGEST_BEYOND_RETENTION', details: [{ path: '/timestamp' }] })
    const batch = await app.inject({ method: 'POST', url: '/data/batch', payload: [event({ timestamp: now }), event({ timestamp: now - 40 * DAY_S })] })
    t.equal(batch.statusCode, 422)
    t.match(batch.json(), { code: 'INGEST_BEYOND_RETENTION', details: [{ index: 1, path: '/timestamp' }] })
    t.same(await sql`select count(*)::int as n from user_metrics`, before, 'nothing stored, not even the batch\'s young event')
    t.equal(names.includes(dayName(now - 31 * DAY_S)), false, 'no partition re-created for it')
    const young = await app.inject({ method: 'POST', url: '/data', payload: event({ timestamp: now - 29 * DAY_S }) })
    t.equal(young.statusCode, 200, 'inside the window: stored')
    t.match((await app.inject({ method: 'GET', url: '/metrics' })).body, /ingest_events_rejected_total\{reason="beyond_retention"\} 2\b/)
  })
})

t.test('a partition whose concurrent detach was interrupted is finished and dropped', async t => {
  const old = now - 60 * DAY_S
  await writeBatch(sql, [ev({ user_id: 1, session_id: 1, timestamp: old })])
  const name = dayName(old)
  // Interrupt a real DETACH … CONCURRENTLY in its second phase: a reader's open transaction
  // makes it wait, and cancelling it then leaves the partition "detach pending".
  const reader = await sql.reserve()
  const detacher = await sql.reserve()
  t.teardown(() => { reader.release(); detacher.release() })
  await reader`begin`
  await reader`select count(*) from user_metrics`
  const [{ pid }] = await detacher<[{ pid: number }]>`select pg_backend_pid() as pid`
  const detach = detacher.unsafe(`alter table user_metrics detach partition ${name} concurrently`).then(() => 'finished', (err: Error) => err.message)
  for (let waiting = false; !waiting;) {
    const [row] = await sql<[{ waiting: boolean }]>`select wait_event_type = 'Lock' as waiting from pg_stat_activity where pid = ${pid}`
    waiting = row.waiting
  }
  await sql`select pg_cancel_backend(${pid})`
  t.match(await detach, /canceling statement/, 'the detach was interrupted')
  await reader`commit`
  t.ok((await listPartitions(sql)).find(p => p.name === name)?.detachPending, 'and left the partition detach-pending')

  await buildTestApp(t, db.url, { RETENTION_DAYS: '30' })
  t.notOk((await listPartitions(sql)).some(p => p.name === name), 'retention finalised the detach and dropped it')
})

t.test('retention runs on its schedule, not only at start-up', async t => {
  const { app } = await buildTestApp(t, db.url, { RETENTION_DAYS: '30', MAINTENANCE_INTERVAL_SECONDS: '1' })
  // Written after start-up (as a long back-fill might), so only a scheduled run can drop it.
  const old = now - 50 * DAY_S
  await writeBatch(sql, [ev({ user_id: 1, session_id: 1, timestamp: old })])
  t.ok((await listPartitions(sql)).some(p => p.name === dayName(old)), 'there')
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline && (await listPartitions(sql)).some(p => p.name === dayName(old))) await new Promise(resolve => setTimeout(resolve, 100))
  t.notOk((await listPartitions(sql)).some(p => p.name === dayName(old)), 'dropped by a later run')
  // The run that dropped it is counted when it ends, which can be a moment after the drop is seen.
  const runs = async (): Promise<string> => (await app.inject({ method: 'GET', url: '/metrics' })).body
  while (Date.now() < deadline && !/ingest_maintenance_runs_total\{outcome="ok"\} [2-9]\b/.test(await runs())) await new Promise(resolve => setTimeout(resolve, 50))
  t.match(await runs(), /ingest_maintenance_runs_total\{outcome="ok"\} [2-9]\b/, 'by a scheduled run: more than the start-up one counted')
})
