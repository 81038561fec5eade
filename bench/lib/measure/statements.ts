/**
 * --statements: where PostgreSQL's time went, per statement, from pg_stat_statements (loaded into
 * the embedded cluster for the run; it costs a little, so it is opt-in). Reset before each measured
 * window, read after it.
 */
import type { Sql } from 'postgres'

export interface StatementShare {
  /** The statement text, whitespace folded, cut at 120 characters. */
  query: string
  calls: number
  totalMs: number
  meanMs: number
  rows: number
  /** Of all the statements' execution time in the window. */
  percent: number
}

/** The server flags that load it: only at start-up. */
export const STATEMENTS_SERVER_FLAGS = ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=all']

/** True when pg_stat_statements can be used on this server (loaded, and the extension created). */
export async function enableStatements (sql: Sql): Promise<boolean> {
  try {
    await sql`create extension if not exists pg_stat_statements`
    await sql`select pg_stat_statements_reset()`
    return true
  } catch {
    return false
  }
}

export async function resetStatements (sql: Sql): Promise<void> {
  await sql`select pg_stat_statements_reset()`
}

export async function topStatements (sql: Sql, n = 8): Promise<StatementShare[]> {
  const rows = await sql<Array<{ query: string, calls: string, total: number, rows: string }>>`
    select query, calls::text, total_exec_time as total, rows::text
    from pg_stat_statements
    where dbid = (select oid from pg_database where datname = current_database())
      and query not like '%pg_stat_statements%'
    order by total_exec_time desc`
  const all = rows.reduce((sum, row) => sum + row.total, 0)
  return rows.slice(0, n).map(row => ({
    query: row.query.replace(/\s+/g, ' ').trim().slice(0, 120),
    calls: Number(row.calls),
    totalMs: Math.round(row.total),
    meanMs: Number(row.calls) === 0 ? 0 : Math.round(row.total / Number(row.calls) * 100) / 100,
    rows: Number(row.rows),
    percent: all === 0 ? 0 : Math.round(row.total / all * 1000) / 10
  }))
}

export function formatStatements (statements: readonly StatementShare[]): string {
  return statements.map(s => `${s.percent.toFixed(1).padStart(5)} %  ${String(s.totalMs).padStart(6)} ms  ${String(s.calls).padStart(6)} calls  ${s.meanMs.toFixed(2).padStart(8)} ms/call  ${String(s.rows).padStart(8)} rows  ${s.query}`).join('\n')
}
