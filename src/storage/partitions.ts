/**
 * The partitions of user_metrics (migration 005): which exist, and creating the ones a set of
 * timestamps needs. Bounds fall on UTC midnights, PARTITION_INTERVAL apart; a partition is named
 * after the day it starts on (user_metrics_p20261202). Stateless: the catalogue is the truth, read
 * afresh under an advisory lock each time, so any number of processes may create at once.
 */
import type { TransactionSql } from 'postgres'
import { PartitionInterval } from '../config.js'
import type { Sql } from '../database/client.js'

export const PARENT = 'user_metrics'

// Any constant works; this one spells "part". The migrations take "mtrx".
const PARTITION_LOCK_KEY = 0x70617274

const DAY_MS = 86_400_000

export interface Partition {
  name: string
  /** Inclusive lower bound, epoch ms; null: MINVALUE (the legacy partition of migration 005). */
  from: number | null
  /** Exclusive upper bound, epoch ms; null: MAXVALUE. */
  to: number | null
  /** A DETACH … CONCURRENTLY was interrupted: the partition is on its way out. */
  detachPending: boolean
}

/** Where the interval holding `ms` starts: a UTC midnight (a Monday for weeks, the 1st for months). */
export function intervalStart (ms: number, interval: PartitionInterval): number {
  const date = new Date(ms)
  const midnight = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate())
  switch (interval) {
    case PartitionInterval.day: return midnight
    // getUTCDay: 0 is Sunday; ISO weeks, like PostgreSQL's date_trunc('week'), start on Monday.
    case PartitionInterval.week: return midnight - ((date.getUTCDay() + 6) % 7) * DAY_MS
    case PartitionInterval.month: return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1)
  }
}

/** Where the interval after the one starting at `start` starts. */
export function nextStart (start: number, interval: PartitionInterval): number {
  const date = new Date(start)
  switch (interval) {
    case PartitionInterval.day: return start + DAY_MS
    case PartitionInterval.week: return start + 7 * DAY_MS
    case PartitionInterval.month: return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1)
  }
}

export function partitionName (from: number): string {
  return `${PARENT}_p${new Date(from).toISOString().slice(0, 10).replaceAll('-', '')}`
}

/** Every partition of user_metrics, oldest first. */
export async function listPartitions (sql: Sql | TransactionSql): Promise<Partition[]> {
  // pg_get_expr spells the bounds as FOR VALUES FROM ('…+00') TO ('…'), MINVALUE/MAXVALUE unquoted;
  // the offset is in the text, so the casts back are exact whatever the session's time zone.
  const rows = await sql<Array<{ name: string, from: Date | null, to: Date | null, detach_pending: boolean }>>`
    select c.relname as name,
      (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM [(]''([^'']+)''[)]'))[1]::timestamptz as from,
      (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO [(]''([^'']+)''[)]'))[1]::timestamptz as to,
      i.inhdetachpending as detach_pending
    from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    where i.inhparent = ${PARENT}::regclass`
  return rows
    .map(row => ({ name: row.name, from: row.from?.getTime() ?? null, to: row.to?.getTime() ?? null, detachPending: row.detach_pending }))
    .sort((a, b) => (a.from ?? -Infinity) - (b.from ?? -Infinity))
}

function covers (partition: Partition, ms: number): boolean {
  return (partition.from === null || partition.from <= ms) && (partition.to === null || ms < partition.to)
}

/**
 * The range a new partition for `ms` takes: its interval, cut short where a partition already
 * stands (the legacy one, or ones made with another PARTITION_INTERVAL). Undefined when covered.
 */
export function rangeFor (ms: number, interval: PartitionInterval, existing: readonly Partition[]): { from: number, to: number } | undefined {
  if (existing.some(p => covers(p, ms))) return undefined
  let from = intervalStart(ms, interval)
  let to = nextStart(from, interval)
  for (const p of existing) {
    if (p.to !== null && p.to <= ms && p.to > from) from = p.to
    if (p.from !== null && p.from > ms && p.from < to) to = p.from
  }
  return { from, to }
}

/**
 * Creates the partitions that the given instants (epoch ms) need and lack, under an advisory
 * lock; returns the names created (none when another process got there first).
 */
export async function ensurePartitions (sql: Sql, interval: PartitionInterval, instants: Iterable<number>): Promise<string[]> {
  // PostgreSQL keeps microseconds: an instant a hair before a bound may be rounded onto it, so
  // the microsecond after each one needs a home too.
  const candidates = new Set<number>()
  for (const ms of instants) candidates.add(ms).add(ms + 0.001)
  return await sql.begin(async tx => {
    await tx`select pg_advisory_xact_lock(${PARTITION_LOCK_KEY})`
    const existing = await listPartitions(tx)
    const created: string[] = []
    for (const ms of candidates) {
      const range = rangeFor(ms, interval, existing)
      if (range === undefined) continue
      const name = partitionName(range.from)
      // DDL takes no parameters; the bounds are ISO strings we made, the name is ours.
      await tx.unsafe(`create table ${name} partition of ${PARENT} for values from ('${new Date(range.from).toISOString()}') to ('${new Date(range.to).toISOString()}')`)
      existing.push({ name, ...range, detachPending: false })
      created.push(name)
    }
    return created
  })
}

/** The instants of every interval from `fromMs` through `count` intervals after it. */
export function upcoming (fromMs: number, count: number, interval: PartitionInterval): number[] {
  const instants: number[] = []
  let start = intervalStart(fromMs, interval)
  for (let i = 0; i <= count; i++) {
    instants.push(start)
    start = nextStart(start, interval)
  }
  return instants
}
