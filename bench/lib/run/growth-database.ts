/**
 * A database of its own on the bench's PostgreSQL, for the growth group: created fresh (dropped
 * first if a dead run left one of that name), migrated from a directory of migrations, dropped by
 * stop(). It stands in for the bench database in a scenario's context. On empty tables its reset()
 * truncates, as the bench database's does; after keepHistory() the rows then present stay, and
 * reset() removes only what was written since — every window starts on the same history.
 */
import pino from 'pino'
import postgres from 'postgres'
import { migrate } from '../../../src/database/migrate.js'
import { enableStatements } from '../measure/statements.js'
import type { BenchDatabase } from './database.js'

export interface GrowthDatabase extends BenchDatabase {
  name: string
  /**
   * From now on, what the tables hold is the history: reset() removes only the metrics written
   * after it (metric_id above its last one) and the sessions and users created after it, and
   * countEvents() counts only those metrics. Returns the rows of history.
   */
  keepHistory: () => Promise<number>
}

const quiet = pino({ level: 'silent' })

/** `name` is ours (a constant of the caller): identifiers take no parameters. */
export async function createGrowthDatabase (bench: BenchDatabase, name: string, migrations: string): Promise<GrowthDatabase> {
  await bench.sql.unsafe(`drop database if exists ${name} with (force)`)
  await bench.sql.unsafe(`create database ${name}`)
  const url = new URL(bench.url)
  url.pathname = `/${name}`
  const sql = postgres(url.href, { max: 2, onnotice: () => {}, connection: { application_name: 'metrics-ingest-bench' } })
  const stop = async (): Promise<void> => {
    await sql.end({ timeout: 5 })
    await bench.sql.unsafe(`drop database if exists ${name} with (force)`)
  }
  try {
    await migrate(sql, quiet, migrations)
  } catch (err) {
    await stop()
    throw err
  }
  // Before keepHistory: nothing is kept, every metric counts.
  let history = { lastMetricId: '0', since: undefined as string | undefined }

  const reset = async (): Promise<void> => {
    if (history.since === undefined) {
      await sql`truncate user_metrics, sessions, users restart identity`
    } else {
      // Metrics first: sessions are referenced by them, users by sessions.
      await sql`delete from user_metrics where metric_id > ${history.lastMetricId}::bigint`
      await sql`delete from sessions where created_at >= ${history.since}::timestamptz`
      await sql`delete from users where created_at >= ${history.since}::timestamptz`
      await sql`vacuum user_metrics, sessions, users`
    }
    await sql`checkpoint`.catch(() => {})
  }

  return {
    ...bench,
    name,
    url: url.href,
    sql,
    statements: bench.statements && await enableStatements(sql),
    reset,
    // Its own, never the bench database's that `...bench` carries: after a warm-up, what the
    // warm-up wrote goes, as reset() removes it.
    emptyMetrics: reset,
    countEvents: async () => {
      const [{ n }] = await sql<[{ n: number }]>`select count(*)::int as n from user_metrics where metric_id > ${history.lastMetricId}::bigint`
      return n
    },
    keepHistory: async () => {
      // Text, not Date: created_at has microseconds, a Date only milliseconds.
      const [row] = await sql<[{ last: string, since: string, rows: number }]>`
        select coalesce(max(metric_id), 0)::text as last, clock_timestamp()::text as since, count(*)::int as rows from user_metrics`
      history = { lastMetricId: row.last, since: row.since }
      return row.rows
    },
    stop
  }
}
