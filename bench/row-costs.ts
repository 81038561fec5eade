/**
 * What a row of user_metrics costs PostgreSQL, constraint by constraint: the service's steady-state
 * flush — its own plain INSERT of 48 rows from unnest (src/ingest/writer.ts), one autocommit statement —
 * into clones of today's partition, each clone without one of the foreign key, the primary key and
 * the two B-tree indexes (the BRIN index stays in all), and one without any of them. Flushes go to
 * the clones in turn, so the host's drift falls on all alike; the figure is the backend's CPU (from
 * /proc) per row. On the bench's own embedded PostgreSQL, durable (fsync and synchronous_commit on).
 *
 *   npx tsx bench/row-costs.ts [--flushes 1500] [--rows 48]
 */
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { eventPool } from './lib/load/event-pool.js'
import { processSeconds } from './lib/measure/cpu-usage.js'
import { openBenchDatabase } from './lib/run/database.js'
import { choosePinning } from './lib/run/pinning.js'
import { numberArray, textArray } from '../src/database/array-literal.js'
import type { MetricEvent } from '../src/ingest/schema.js'
import { insertMetrics } from '../src/ingest/writer.js'

const { values } = parseArgs({ options: { flushes: { type: 'string', default: '1500' }, rows: { type: 'string', default: '48' } } })
const FLUSHES = Number(values.flushes)
const ROWS = Number(values.rows)
const WARM_FLUSHES = 100

/**
 * Each clone, and what is taken from it after `create table … (like <partition> including all)`
 * plus the foreign key. A clone is `user_metrics` in a schema of its own, so the service's
 * statement (writer.ts insertMetrics) reaches it unchanged through its connection's search_path.
 */
const CLONES: Record<string, (table: string) => string[]> = {
  'all of them': () => [],
  'no foreign key': t => [`alter table ${t} drop constraint user_metrics_session_id_fkey`],
  'no primary key': t => [`alter table ${t} drop constraint user_metrics_pkey`],
  'no (session_id, timestamp) index': t => [`drop index ${t.split('.')[0]!}.user_metrics_session_id_timestamp_idx`],
  'no (event_id, timestamp) index': t => [`drop index ${t.split('.')[0]!}.user_metrics_event_id_timestamp_idx`],
  'none of them': t => [...CLONES['no foreign key']!(t), ...CLONES['no primary key']!(t), ...CLONES['no (session_id, timestamp) index']!(t), ...CLONES['no (event_id, timestamp) index']!(t)]
}

const database = await openBenchDatabase(choosePinning(false))
const clones: Array<{ name: string, sql: postgres.Sql, pid: number, micros: number }> = []
try {
  const { sql } = database
  const [{ partition }] = await sql<[{ partition: string }]>`
    select c.relname as partition from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'user_metrics'::regclass and c.relname = ${`user_metrics_p${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`}`
  for (const [i, name] of Object.keys(CLONES).entries()) {
    const table = `row_costs_${i}.user_metrics`
    await sql.unsafe(`create schema row_costs_${i}`)
    await sql.unsafe(`create table ${table} (like public.${partition} including all)`)
    await sql.unsafe(`alter table ${table} add constraint user_metrics_session_id_fkey foreign key (session_id) references public.sessions (session_id)`)
    for (const statement of CLONES[name]!(table)) await sql.unsafe(statement)
    // One connection a clone: its backend's CPU is that clone's measurement.
    const own = postgres(database.url, { max: 1, onnotice: () => {}, connection: { search_path: `row_costs_${i}, public` } })
    const [{ pid }] = await own<[{ pid: number }]>`select pg_backend_pid() as pid`
    clones.push({ name, sql: own, pid, micros: 0 })
  }

  // The bench's traffic: its users and sessions stored first, as behind a running service.
  const pool = eventPool(20_000, { seed: 1 }).map(text => JSON.parse(text) as MetricEvent)
  await sql`insert into users (user_id, name, email, profile_at)
    select distinct on (u) u, n, e, now() from unnest(${numberArray(pool.map(e => e.user_id))}::int8[], ${textArray(pool.map(e => e.name))}::text[], ${textArray(pool.map(e => e.email))}::text[]) as input(u, n, e)
    on conflict do nothing`
  await sql`insert into sessions (session_id, user_id)
    select distinct on (s) s, u from unnest(${numberArray(pool.map(e => e.session_id))}::int8[], ${numberArray(pool.map(e => e.user_id))}::int8[]) as input(s, u)
    on conflict do nothing`

  let cursor = 0
  const now = Date.now() / 1000
  const batch = (): MetricEvent[] => Array.from({ length: ROWS }, () => {
    const event = pool[cursor++ % pool.length]!
    return { ...event, event_id: crypto.randomUUID(), timestamp: now - Math.random() * 60 }
  })
  for (let i = 0; i < WARM_FLUSHES + FLUSHES; i++) {
    // Each pass in the other order: no clone always follows the same one.
    for (const clone of i % 2 === 0 ? clones : [...clones].reverse()) {
      const events = batch()
      const before = processSeconds(clone.pid)
      await insertMetrics(clone.sql, events, events.map(e => e.event_id!), { skipStored: false })
      if (i >= WARM_FLUSHES) clone.micros += (processSeconds(clone.pid) - before) * 1e6
    }
  }
  const perRow = (micros: number): number => micros / (FLUSHES * ROWS)
  const all = perRow(clones[0]!.micros)
  console.log(`${FLUSHES} flushes of ${ROWS} rows into each clone of ${partition}; ${database.version.split(' ').slice(0, 2).join(' ')}`)
  console.log('clone'.padEnd(36) + 'µs/row'.padStart(8) + '  µs/flush' + '  saved µs/row')
  for (const { name, micros } of clones) {
    console.log(name.padEnd(36) + perRow(micros).toFixed(1).padStart(8) + (perRow(micros) * ROWS).toFixed(0).padStart(10) + (name === 'all of them' ? '' : (all - perRow(micros)).toFixed(1).padStart(15)))
  }
} finally {
  await Promise.all(clones.map(async clone => await clone.sql.end({ timeout: 5 })))
  await database.stop()
}
