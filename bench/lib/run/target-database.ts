/**
 * A --target deployment's database (--database-url): the bench did not create it, so it only
 * reads. The connection itself is read-only (default_transaction_read_only in its startup
 * packet), so no statement of the bench can write there, by design or by mistake. Nothing is
 * migrated, truncated, reset or checkpointed.
 */
import postgres, { type Sql } from 'postgres'
import { idRange } from '../load/event-pool.js'
import { redactPassword } from './options.js'

export interface TargetDatabase {
  /** The URL with its password masked: for the report. */
  where: string
  sql: Sql
  version: string
  /** The settings that decide what a commit costs. */
  settings: Record<string, string>
  /**
   * Rows of user_metrics whose event_id starts with `prefix`: the events one load sent.
   *
   * The tables are not emptied (not ours), and other traffic may be writing to them, so neither
   * count(*) nor a created_at window says what this run stored. Every event_id of a load shares a
   * random 48-bit prefix (event-pool.ts), and PostgreSQL orders uuids byte by byte: `event_id
   * between <prefix>-0000… and <prefix>-ffff…` is exactly this load's rows, found by a range scan
   * of the unique index on (event_id, "timestamp") in each partition — a few index pages per
   * partition however large the table, and nobody else's rows are read.
   */
  countLoad: (prefix: string) => Promise<number>
  stop: () => Promise<void>
}

const SETTINGS = ['fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'commit_delay', 'shared_buffers', 'max_wal_size']

export async function openTargetDatabase (url: string): Promise<TargetDatabase> {
  const sql = postgres(url, {
    max: 2,
    onnotice: () => {},
    // Startup parameters: every transaction of these connections is read-only.
    connection: { application_name: 'metrics-ingest-bench', default_transaction_read_only: true, statement_timeout: 30_000 }
  })
  try {
    const [{ version }] = await sql<[{ version: string }]>`select version()`
    const rows = await sql<Array<{ name: string, setting: string, unit: string | null }>>`
      select name, setting, unit from pg_settings where name = any(${SETTINGS})`
    const settings = Object.fromEntries(rows.map(row => [row.name, row.unit === null ? row.setting : `${row.setting} × ${row.unit}`]))
    const countLoad = async (prefix: string): Promise<number> => {
      const { low, high } = idRange(prefix)
      const [{ n }] = await sql<[{ n: number }]>`
        select count(*)::int as n from user_metrics where event_id between ${low}::uuid and ${high}::uuid`
      return n
    }
    // Fails here, before any load, when it is not metrics-ingest's database (no user_metrics.event_id).
    await countLoad('00000000-0000')
    return { where: redactPassword(url), sql, version, settings, countLoad, stop: async () => { await sql.end({ timeout: 5 }) } }
  } catch (err) {
    await sql.end({ timeout: 1 })
    throw err
  }
}
