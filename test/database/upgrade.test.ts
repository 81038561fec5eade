/**
 * Migrations 005 and 006 on a database the previous release built (migrations 001–004) and filled:
 * every row and every event_id survives in place, ids carry on, dedupe still refuses old ids, and
 * the old table's timestamp index is a BRIN index like every partition's.
 */
import { copyFile, mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import t from 'tap'
import { MIGRATIONS_DIR, migrate } from '../../src/database/migrate.js'
import { listPartitions } from '../../src/storage/partitions.js'
import { buildTestApp, event } from '../helpers/app.js'
import { testDatabase } from '../helpers/database.js'

const PREVIOUS_RELEASE = ['001', '002', '003', '004']
const ROWS = 20_000

const previous = await mkdtemp(join(tmpdir(), 'migrations-'))
for (const file of await readdir(MIGRATIONS_DIR)) {
  if (PREVIOUS_RELEASE.includes(file.slice(0, 3))) await copyFile(join(MIGRATIONS_DIR, file), join(previous, file))
}
const db = await testDatabase(t, { migrations: previous })
const { sql } = db

// As the previous release stored them: 20,000 rows over the last 60 days, most with an event_id
// (whole seconds, so that the test can send one again exactly as its client did).
await sql`insert into users (user_id, name, email, profile_at) select g, 'User ' || g, 'u' || g || '@example.com', now() from generate_series(1, 100) g`
await sql`insert into sessions (session_id, user_id) select g, 1 + g % 100 from generate_series(1, 500) g`
await sql`
  insert into user_metrics (session_id, talked_time, microphone_used, speaker_used, voice_sentiment, "timestamp", event_id)
  select 1 + g % 500, make_interval(secs => g % 3600), g % 2 = 0, g % 3 = 0, 'neutral',
    date_trunc('second', now()) - make_interval(secs => g * 259), case when g % 10 = 0 then null else gen_random_uuid() end
  from generate_series(1, ${ROWS}) g`
const before = await sql<Array<{ metric_id: string, event_id: string | null, timestamp: Date }>>`select metric_id, event_id, "timestamp" from user_metrics order by metric_id`

t.test('the populated database migrates in place', async t => {
  t.same(await migrate(sql, pino({ level: 'silent' })), ['005_partitioned_metrics.sql', '006_timestamp_brin.sql'])
  const after = await sql<Array<{ metric_id: string, event_id: string | null, timestamp: Date }>>`select metric_id, event_id, "timestamp" from user_metrics order by metric_id`
  t.equal(after.length, ROWS)
  t.same(after, before, 'every row, id and timestamp as it was')
  const partitions = await listPartitions(sql)
  t.same(partitions.map(p => [p.name, p.from]), [['user_metrics_legacy', null]], 'the old table is the legacy partition, from MINVALUE')
  const endOfMonth = new Date()
  t.equal(partitions[0]!.to, Date.UTC(endOfMonth.getUTCFullYear(), endOfMonth.getUTCMonth() + 1, 1), 'up to the end of this month (UTC)')
  const [{ relkind }] = await sql<[{ relkind: string }]>`select relkind from pg_class where relname = 'user_metrics'`
  t.equal(relkind, 'p', 'user_metrics is partitioned')
  const indexes = await sql<Array<{ method: string, def: string }>>`
    select am.amname as method, pg_get_indexdef(x.indexrelid) as def from pg_index x
    join pg_class i on i.oid = x.indexrelid join pg_am am on am.oid = i.relam
    where x.indrelid = 'user_metrics_legacy'::regclass order by 2`
  t.same(indexes.filter(i => i.method === 'brin').map(i => /USING brin \("timestamp"\)/.test(i.def)), [true], 'the legacy partition has the BRIN index on "timestamp"')
  t.notOk(indexes.some(i => /USING btree \("timestamp"\)/.test(i.def)), 'and its B-tree on "timestamp" alone is gone')
  t.equal(indexes.filter(i => i.method === 'btree').length, 3, 'its three other indexes stay: the key, (event_id, "timestamp"), (session_id, "timestamp")')
})

t.test('the service on the upgraded database', async t => {
  const { app } = await buildTestApp(t, db.url)
  const old = before.find(row => row.event_id !== null)!
  const retry = await app.inject({ method: 'POST', url: '/data', payload: event({ event_id: old.event_id, session_id: 1, user_id: 2, timestamp: old.timestamp.getTime() / 1000 }) })
  t.equal(retry.statusCode, 200)
  t.same(retry.json(), { status: 'success', duplicate: true }, 'an event stored before the upgrade is still a duplicate')

  const fresh = await app.inject({ method: 'POST', url: '/data', payload: event({ event_id: '3b4e28ba-2fa1-4d3b-a3f5-ef19b5a76300', session_id: 1, user_id: 2, timestamp: Date.now() / 1000 }) })
  t.equal(fresh.statusCode, 200)
  const [row] = await sql<[{ metric_id: string, partition: string }]>`select metric_id, tableoid::regclass::text as partition from user_metrics where event_id = '3b4e28ba-2fa1-4d3b-a3f5-ef19b5a76300'`
  t.ok(BigInt(row.metric_id) > BigInt(before[before.length - 1]!.metric_id), 'metric_id carries on past the old ones')
  t.equal(row.partition, 'user_metrics_legacy', "this month's events still land in the legacy partition")

  t.same(await sql`select count(*)::int as n from user_metrics`, [{ n: ROWS + 1 }])
})
