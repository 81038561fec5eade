/**
 * How big user_metrics' indexes are: each index of the partition that takes today's writes
 * (unpartitioned: the one partition holding everything) and every partition's together. A write
 * touches only the indexes of the partition its row lands in: those are what history must not
 * make slow.
 */
import type { Sql } from 'postgres'
import { listPartitions } from '../../../src/storage/partitions.js'

export interface IndexSize {
  name: string
  /** pg_relation_size. */
  bytes: number
}

export interface IndexSizes {
  partitions: number
  /** The partition holding `at` (today's; the catch-all when unpartitioned). */
  current: {
    name: string
    rows: number
    indexes: IndexSize[]
    /** pg_indexes_size: all of its indexes. */
    indexBytes: number
  }
  /** pg_indexes_size summed over every partition. */
  totalIndexBytes: number
}

export async function indexSizes (sql: Sql, at = Date.now()): Promise<IndexSizes> {
  const partitions = await listPartitions(sql)
  const current = partitions.find(p => (p.from === null || p.from <= at) && (p.to === null || at < p.to))
  if (current === undefined) throw new Error(`no partition of user_metrics holds ${new Date(at).toISOString()}`)
  const indexes = await sql<Array<{ name: string, bytes: string }>>`
    select i.relname as name, pg_relation_size(i.oid)::text as bytes
    from pg_index x join pg_class i on i.oid = x.indexrelid
    where x.indrelid = ${current.name}::regclass
    order by i.relname`
  // The partition's name is one listPartitions read from the catalogue.
  const [{ rows }] = await sql.unsafe<[{ rows: number }]>(`select count(*)::int as rows from ${current.name}`)
  const [sizes] = await sql<[{ current: string, total: string }]>`
    select pg_indexes_size(${current.name}::regclass)::text as current,
      (select sum(pg_indexes_size(inhrelid))::text from pg_inherits where inhparent = 'user_metrics'::regclass) as total`
  return {
    partitions: partitions.length,
    current: {
      name: current.name,
      rows,
      indexes: indexes.map(index => ({ name: index.name, bytes: Number(index.bytes) })),
      indexBytes: Number(sizes.current)
    },
    totalIndexBytes: Number(sizes.total)
  }
}

const MIB = 2 ** 20

export function mebibytes (bytes: number): string {
  return (bytes / MIB).toLocaleString('en', { maximumFractionDigits: bytes < 10 * MIB ? 1 : 0 })
}

/** Each index of the current partition in MiB, named without the partition's prefix: `pkey 12, …`. */
export function formatEachIndex ({ name, indexes }: IndexSizes['current']): string {
  return indexes.map(index => `${index.name.startsWith(`${name}_`) ? index.name.slice(name.length + 1) : index.name} ${mebibytes(index.bytes)}`).join(', ')
}

export function formatIndexSizes (sizes: IndexSizes): string {
  return `indexes: ${sizes.current.name} (${sizes.current.rows.toLocaleString('en')} rows) ${mebibytes(sizes.current.indexBytes)} MiB (${formatEachIndex(sizes.current)}); ` +
    `all ${sizes.partitions} partition(s) ${mebibytes(sizes.totalIndexBytes)} MiB`
}
