/**
 * Retention: old metrics leave as whole partitions — DETACH … CONCURRENTLY, then DROP, never a
 * mass DELETE — and old ingest_rejects rows in small deletes (a few rows a day, no partitions).
 */
import type { Sql } from '../database/client.js'
import { PARENT, listPartitions } from './partitions.js'

// Any constant works; this one spells "rtnt". One process at a time drops partitions.
const RETENTION_LOCK_KEY = 0x72746e74
const PURGE_CHUNK = 10_000

/**
 * Drops every partition whose rows are all older than `cutoffMs` (its upper bound is at or
 * before it). Returns the names dropped, or undefined when another process holds the lock.
 */
export async function dropPartitionsBefore (sql: Sql, cutoffMs: number): Promise<string[] | undefined> {
  // DETACH … CONCURRENTLY runs outside any transaction: a session lock on a connection of its own.
  const connection = await sql.reserve()
  try {
    const [lock] = await connection<[{ locked: boolean }]>`select pg_try_advisory_lock(${RETENTION_LOCK_KEY}) as locked`
    if (lock?.locked !== true) return undefined
    try {
      const dropped: string[] = []
      for (const partition of await listPartitions(connection)) {
        if (partition.to === null || partition.to > cutoffMs) continue
        // Waits for the transactions that may still see the partition, without blocking new
        // inserts into the others. One interrupted earlier is finished instead of started again.
        await connection.unsafe(`alter table ${PARENT} detach partition ${partition.name} ${partition.detachPending ? 'finalize' : 'concurrently'}`)
        await connection.unsafe(`drop table ${partition.name}`)
        dropped.push(partition.name)
      }
      return dropped
    } finally {
      await connection`select pg_advisory_unlock(${RETENTION_LOCK_KEY})`
    }
  } finally {
    connection.release()
  }
}

/** Deletes the ingest_rejects rows rejected before `cutoffMs`, a chunk at a time; returns how many. */
export async function purgeRejectsBefore (sql: Sql, cutoffMs: number): Promise<number> {
  const cutoff = new Date(cutoffMs)
  let purged = 0
  for (;;) {
    const { count } = await sql`
      delete from ingest_rejects where reject_id in (
        select reject_id from ingest_rejects where rejected_at < ${cutoff} limit ${PURGE_CHUNK})`
    purged += count
    if (count < PURGE_CHUNK) return purged
  }
}
