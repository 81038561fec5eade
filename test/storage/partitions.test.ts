/**
 * user_metrics' partitions (migration 005, src/storage/partitions.ts): bounds, creation ahead and
 * on demand, several creators at once, dedupe across a partition boundary, and pruning.
 */
import t from 'tap'
import postgres from 'postgres'
import { PartitionInterval } from '../../src/config.js'
import { ensurePartitions, intervalStart, listPartitions, nextStart, rangeFor, upcoming, type Partition } from '../../src/storage/partitions.js'
import { buildTestApp, event } from '../helpers/app.js'
import { testDatabase, truncate } from '../helpers/database.js'

const DAY = 86_400_000
const utc = (iso: string): number => Date.parse(iso)

t.test('interval bounds are UTC midnights: days, ISO weeks from Monday, calendar months', async t => {
  const wednesdayNoon = utc('2026-12-02T12:34:56.789Z')
  t.equal(intervalStart(wednesdayNoon, PartitionInterval.day), utc('2026-12-02T00:00:00Z'))
  t.equal(intervalStart(wednesdayNoon, PartitionInterval.week), utc('2026-11-30T00:00:00Z'), 'the Monday before')
  t.equal(intervalStart(utc('2026-11-29T23:59:59Z'), PartitionInterval.week), utc('2026-11-23T00:00:00Z'), 'a Sunday belongs to the week before')
  t.equal(intervalStart(wednesdayNoon, PartitionInterval.month), utc('2026-12-01T00:00:00Z'))
  t.equal(nextStart(utc('2026-12-01T00:00:00Z'), PartitionInterval.month), utc('2027-01-01T00:00:00Z'), 'December rolls into the next year')
  t.equal(nextStart(utc('2026-02-01T00:00:00Z'), PartitionInterval.month), utc('2026-03-01T00:00:00Z'))
  t.same(upcoming(wednesdayNoon, 2, PartitionInterval.day), [utc('2026-12-02T00:00:00Z'), utc('2026-12-03T00:00:00Z'), utc('2026-12-04T00:00:00Z')])
})

t.test('a new partition takes its interval, cut short where another partition stands', async t => {
  const legacy: Partition = { name: 'user_metrics_legacy', from: null, to: utc('2026-12-01T00:00:00Z'), detachPending: false }
  const day: Partition = { name: 'user_metrics_p20261210', from: utc('2026-12-10T00:00:00Z'), to: utc('2026-12-11T00:00:00Z'), detachPending: false }
  t.equal(rangeFor(utc('2026-11-15T00:00:00Z'), PartitionInterval.month, [legacy]), undefined, 'covered by the legacy partition')
  t.same(rangeFor(utc('2026-12-05T00:00:00Z'), PartitionInterval.week, [legacy]), { from: utc('2026-12-01T00:00:00Z'), to: utc('2026-12-07T00:00:00Z') },
    'the week of Monday 30 November starts where the legacy partition ends')
  t.same(rangeFor(utc('2026-12-05T00:00:00Z'), PartitionInterval.month, [legacy, day]), { from: utc('2026-12-01T00:00:00Z'), to: utc('2026-12-10T00:00:00Z') },
    'a month ends where a day partition made earlier begins')
  t.same(rangeFor(utc('2026-12-20T00:00:00Z'), PartitionInterval.month, [legacy, day]), { from: utc('2026-12-11T00:00:00Z'), to: utc('2027-01-01T00:00:00Z') })
})

const db = await testDatabase(t)
const { sql } = db

t.test('partitions are created once, whoever asks and however many ask at once', async t => {
  const instants = [utc('2030-01-01T10:00:00Z'), utc('2030-01-01T11:00:00Z'), utc('2030-01-02T00:00:00Z')]
  // Two pools: two sessions, as two processes would be.
  const other = postgres(db.url, { max: 2, onnotice: () => {} })
  t.teardown(async () => { await other.end() })
  const results = await Promise.all([
    ensurePartitions(sql, PartitionInterval.day, instants),
    ensurePartitions(other as never, PartitionInterval.day, instants),
    ensurePartitions(sql, PartitionInterval.day, instants)
  ])
  t.same(results.flat().sort(), ['user_metrics_p20300101', 'user_metrics_p20300102'], 'each partition created by exactly one caller')
  t.same(await ensurePartitions(sql, PartitionInterval.day, instants), [], 'nothing left to create')
  const made = (await listPartitions(sql)).filter(p => p.name.startsWith('user_metrics_p2030'))
  t.same(made.map(p => [p.name, p.from, p.to]), [
    ['user_metrics_p20300101', utc('2030-01-01T00:00:00Z'), utc('2030-01-02T00:00:00Z')],
    ['user_metrics_p20300102', utc('2030-01-02T00:00:00Z'), utc('2030-01-03T00:00:00Z')]
  ])
  // 0.4 µs before midnight: PostgreSQL keeps microseconds and rounds it onto midnight.
  t.same(await ensurePartitions(sql, PartitionInterval.day, [utc('2030-01-03T00:00:00Z') - 0.0004]), ['user_metrics_p20300103'],
    'an instant PostgreSQL rounds onto the next bound gets that partition too')
})

t.test('the service', async t => {
  const { app, logs } = await buildTestApp(t, db.url, { PARTITIONS_AHEAD: '2' })
  t.beforeEach(async () => { await truncate(sql) })
  const partitionNames = async (): Promise<string[]> => (await listPartitions(sql)).map(p => p.name)

  t.test('has today and the next PARTITIONS_AHEAD days from start-up', async t => {
    const today = intervalStart(Date.now(), PartitionInterval.day)
    const names = await partitionNames()
    for (const day of [today, today + DAY, today + 2 * DAY]) {
      t.ok(names.includes(`user_metrics_p${new Date(day).toISOString().slice(0, 10).replaceAll('-', '')}`), new Date(day).toISOString())
    }
  })

  t.test('stores an event whose day has no partition yet: made on demand, never a reject', async t => {
    const before = await partitionNames()
    t.notOk(before.includes('user_metrics_p20150610'))
    const answer = await app.inject({ method: 'POST', url: '/data', payload: event({ timestamp: utc('2015-06-10T08:00:00Z') / 1000 }) })
    t.equal(answer.statusCode, 200, answer.body)
    t.ok((await partitionNames()).includes('user_metrics_p20150610'))
    const [row] = await sql<[{ partition: string }]>`select tableoid::regclass::text as partition from user_metrics`
    t.equal(row.partition, 'user_metrics_p20150610')
    t.same(await sql`select count(*)::int as n from ingest_rejects`, [{ n: 0 }], 'nothing in ingest_rejects')
    const scrape = (await app.inject({ method: 'GET', url: '/metrics' })).body
    t.match(scrape, /ingest_partitions_created_total\{when="on_demand"\} 1\b/)
    t.ok(logs.some(line => line.msg === 'partition created on demand for a timestamp that had none'))
  })

  t.test('a batch spanning many days, most without a partition, is stored whole in one request', async t => {
    const events = Array.from({ length: 20 }, (_, i) => event({ user_id: 1, session_id: 1, timestamp: utc('2016-03-01T12:00:00Z') / 1000 + i * 86_400 }))
    const answer = await app.inject({ method: 'POST', url: '/data/batch', payload: events })
    t.equal(answer.statusCode, 200, answer.body)
    t.match(answer.json(), { accepted: 20, rejected: [] })
    t.same(await sql`select count(distinct tableoid)::int as partitions, count(*)::int as n from user_metrics`, [{ partitions: 20, n: 20 }])
  })

  t.test('dedupe holds on both sides of a partition boundary', async t => {
    const midnight = utc('2026-06-15T00:00:00Z') / 1000
    const before = event({ event_id: '0b4e28ba-2fa1-4d3b-a3f5-ef19b5a76301', timestamp: midnight - 0.000_001 })
    const at = event({ event_id: '0b4e28ba-2fa1-4d3b-a3f5-ef19b5a76302', timestamp: midnight })
    for (const round of ['first', 'retry']) {
      for (const payload of [before, at]) {
        const answer = await app.inject({ method: 'POST', url: '/data', payload })
        t.equal(answer.statusCode, 200)
        t.equal(answer.json().duplicate, round === 'retry' ? true : undefined, `${round} of ${String(payload.event_id)}`)
      }
    }
    const batch = await app.inject({ method: 'POST', url: '/data/batch', payload: [before, at] })
    t.match(batch.json(), { accepted: 0, duplicates: 2 }, 'a batch retrying both is all duplicates')
    const rows = await sql<Array<{ partition: string }>>`select tableoid::regclass::text as partition from user_metrics order by "timestamp"`
    t.same(rows.map(r => r.partition), ['user_metrics_p20260614', 'user_metrics_p20260615'], 'one row each, one on each side')
  })

  t.test('the same event_id at another timestamp is another event', async t => {
    const id = '0b4e28ba-2fa1-4d3b-a3f5-ef19b5a76303'
    const answers = await Promise.all([1622558400, 1622558401].map(async timestamp =>
      await app.inject({ method: 'POST', url: '/data', payload: event({ event_id: id, timestamp }) })))
    t.same(answers.map(a => a.json()), [{ status: 'success' }, { status: 'success' }])
    t.same(await sql`select count(*)::int as n from user_metrics`, [{ n: 2 }])
  })
})

t.test('queries over a time range read only the partitions in it', async t => {
  await ensurePartitions(sql, PartitionInterval.day, [utc('2031-05-01T00:00:00Z'), utc('2031-05-02T00:00:00Z'), utc('2031-05-03T00:00:00Z')])
  const plan = async (query: string): Promise<string> =>
    (await sql.unsafe<Array<{ 'QUERY PLAN': string }>>(`explain (costs off) ${query}`)).map(row => row['QUERY PLAN']).join('\n')
  const sessionOverTime = await plan(`select "timestamp", talked_time, voice_sentiment from user_metrics
    where session_id = 1 and "timestamp" >= '2031-05-02T00:00:00Z' and "timestamp" < '2031-05-03T00:00:00Z' order by "timestamp"`)
  t.match(sessionOverTime, /user_metrics_p20310502/)
  t.notMatch(sessionOverTime, /user_metrics_p20310501|user_metrics_p20310503/, 'a session\'s metrics over one day: one partition')
  const talkedPerDay = await plan(`select date_trunc('day', m."timestamp") as day, sum(m.talked_time)
    from user_metrics m join sessions s using (session_id)
    where s.user_id = 1 and m."timestamp" >= '2031-05-01T00:00:00Z' and m."timestamp" < '2031-05-03T00:00:00Z' group by 1 order by 1`)
  t.match(talkedPerDay, /user_metrics_p20310501/)
  t.match(talkedPerDay, /user_metrics_p20310502/)
  t.notMatch(talkedPerDay, /user_metrics_p20310503/, 'a user\'s talked time per day over two days: two partitions')
})

t.test('a time range across sessions is found by the partition\'s BRIN index on "timestamp" (migration 006)', async t => {
  await ensurePartitions(sql, PartitionInterval.day, [utc('2031-06-01T00:00:00Z')])
  const [index] = await sql<[{ method: string }]>`
    select am.amname as method from pg_index x join pg_class i on i.oid = x.indexrelid join pg_am am on am.oid = i.relam
    where x.indrelid = 'user_metrics_p20310601'::regclass and pg_get_indexdef(x.indexrelid) like '%("timestamp")%'`
  t.equal(index?.method, 'brin', 'a new partition inherits it')
  // A day of rows arriving in time order, as the service writes them, over many sessions.
  await sql`insert into users (user_id, name, email, profile_at) values (6001, 'B', 'b@example.com', now()) on conflict do nothing`
  await sql`insert into sessions (session_id, user_id) select g, 6001 from generate_series(600001, 600100) g on conflict do nothing`
  await sql`insert into user_metrics (session_id, talked_time, microphone_used, speaker_used, voice_sentiment, "timestamp")
    select 600001 + g % 100, interval '1 second', true, false, 'neutral', timestamptz '2031-06-01T00:00:00Z' + g * interval '1 second'
    from generate_series(0, 86399) g`
  await sql`analyze user_metrics_p20310601`
  const plan = (await sql.unsafe<Array<{ 'QUERY PLAN': string }>>(`explain (costs off) select count(*) from user_metrics
    where "timestamp" >= '2031-06-01T10:00:00Z' and "timestamp" < '2031-06-01T11:00:00Z'`)).map(row => row['QUERY PLAN']).join('\n')
  t.match(plan, /Bitmap Index Scan on user_metrics_p20310601_timestamp_idx/, 'an hour of a day, any session: the BRIN index, not a scan of the day')
})
