/**
 * What a row of user_metrics costs PostgreSQL, constraint by constraint: the service's steady-state
 * flush — one plain INSERT of 48 rows from unnest (src/ingest/writer.ts), one autocommit statement —
 * into clones of today's partition, each clone without one of the foreign key, the primary key and
 * the two B-tree indexes (the BRIN index stays in all), and one without any of them. Flushes go to
 * the clones in turn, so the host's drift falls on all alike; the figure is the backend's CPU (from
 * /proc) per row. On the bench's own embedded PostgreSQL, durable (fsync and synchronous_commit on).
 *
 *   npx tsx bench/row-costs.ts [--flushes 1500] [--rows 48]
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { eventPool } from './lib/load/event-pool.js'
import { openBenchDatabase } from './lib/run/database.js'
import { choosePinning } from './lib/run/pinning.js'
import { booleanArray, numberArray, textArray, uuidArray } from '../src/database/array-literal.js'
import type { MetricEvent } from '../src/ingest/schema.js'

const { values } = parseArgs({ options: { flushes: { type: 'string', default: '1500' }, rows: { type: 'string', default: '48' } } })
const FLUSHES = Number(values.flushes)
const ROWS = Number(values.rows)
const WARM_FLUSHES = 100

/** Each clone, and what is taken from it after `create table … (like <partition> including all)` plus the foreign key. */
const CLONES: Record<string, (table: string) => string[]> = {
  'all of them': () => [],
  'no foreign key': t => [`alter table ${t} drop constraint ${t}_session_id_fkey`],
  'no primary key': t => [`alter table ${t} drop constraint ${t}_pkey`],
  'no (session_id, timestamp) index': t => [`drop index ${t}_session_id_timestamp_idx`],
  'no (event_id, timestamp) index': t => [`drop index ${t}_event_id_timestamp_idx`],
  'none of them': t => [`alter table ${t} drop constraint ${t}_session_id_fkey`, `alter table ${t} drop constraint ${t}_pkey`,
    `drop index ${t}_session_id_timestamp_idx`, `drop index ${t}_event_id_timestamp_idx`]
}

const database = await openBenchDatabase(choosePinning(false))
// One connection: its backend's CPU is the measurement.
const sql = postgres(database.url, { max: 1, onnotice: () => {} })
try {
  const [{ partition }] = await sql<[{ partition: string }]>`
    select c.relname as partition from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'user_metrics'::regclass and c.relname = ${`user_metrics_p${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`}`
  const tables = Object.keys(CLONES).map((name, i) => ({ name, table: `row_costs_${i}` }))
  for (const { name, table } of tables) {
    await sql.unsafe(`create table ${table} (like ${partition} including all)`)
    await sql.unsafe(`alter table ${table} add constraint ${table}_session_id_fkey foreign key (session_id) references sessions (session_id)`)
    for (const statement of CLONES[name]!(table)) await sql.unsafe(statement)
  }

  // The bench's traffic: its users and sessions stored first, as behind a running service.
  const pool = eventPool(20_000, { seed: 1 }).map(text => JSON.parse(text) as MetricEvent)
  await sql`insert into users (user_id, name, email, profile_at)
    select distinct on (u) u, n, e, now() from unnest(${numberArray(pool.map(e => e.user_id))}::int8[], ${textArray(pool.map(e => e.name))}::text[], ${textArray(pool.map(e => e.email))}::text[]) as input(u, n, e)
    on conflict do nothing`
  await sql`insert into sessions (session_id, user_id)
    select distinct on (s) s, u from unnest(${numberArray(pool.map(e => e.session_id))}::int8[], ${numberArray(pool.map(e => e.user_id))}::int8[]) as input(s, u)
    on conflict do nothing`

  const [{ pid }] = await sql<[{ pid: number }]>`select pg_backend_pid() as pid`
  const backendMicros = (): number => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10_000
  }
  let cursor = 0
  const now = Date.now() / 1000
  const batch = (): MetricEvent[] => Array.from({ length: ROWS }, () => {
    const event = pool[cursor++ % pool.length]!
    return { ...event, event_id: crypto.randomUUID(), timestamp: now - Math.random() * 60 }
  })
  const insert = async (table: string, events: readonly MetricEvent[]): Promise<void> => {
    await sql`insert into ${sql(table)} (event_id, session_id, talked_time, microphone_used, speaker_used, voice_sentiment, "timestamp")
      select id, s, make_interval(secs => t), m, sp, v, to_timestamp(ts)
      from unnest(${uuidArray(events.map(e => e.event_id ?? null))}::uuid[], ${numberArray(events.map(e => e.session_id))}::int8[],
        ${numberArray(events.map(e => e.talked_time))}::float8[], ${booleanArray(events.map(e => e.microphone_used))}::bool[],
        ${booleanArray(events.map(e => e.speaker_used))}::bool[], ${textArray(events.map(e => e.voice_sentiment))}::text[],
        ${numberArray(events.map(e => e.timestamp))}::float8[]) as input(id, s, t, m, sp, v, ts)`
  }

  const micros = new Map(tables.map(t => [t.name, 0]))
  for (let i = 0; i < WARM_FLUSHES + FLUSHES; i++) {
    // Each pass in the other order: no clone always follows the same one.
    for (const { name, table } of i % 2 === 0 ? tables : [...tables].reverse()) {
      const events = batch()
      const before = backendMicros()
      await insert(table, events)
      if (i >= WARM_FLUSHES) micros.set(name, micros.get(name)! + backendMicros() - before)
    }
  }
  const perRow = (name: string): number => micros.get(name)! / (FLUSHES * ROWS)
  const all = perRow('all of them')
  console.log(`${FLUSHES} flushes of ${ROWS} rows into each clone of ${partition}; ${database.version.split(' ').slice(0, 2).join(' ')}`)
  console.log('clone'.padEnd(36) + 'µs/row'.padStart(8) + '  µs/flush' + '  saved µs/row')
  for (const { name } of tables) {
    console.log(name.padEnd(36) + perRow(name).toFixed(1).padStart(8) + (perRow(name) * ROWS).toFixed(0).padStart(10) + (name === 'all of them' ? '' : (all - perRow(name)).toFixed(1).padStart(15)))
  }
} finally {
  await sql.end({ timeout: 5 })
  await database.stop()
}
