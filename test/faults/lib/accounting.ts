/**
 * What was lost: the acknowledged event_ids against the rows of user_metrics.
 */
import postgres from 'postgres'

export interface Ledger {
  acked: number
  /** Rows in user_metrics. */
  stored: number
  /** Acknowledged event_ids with no row. */
  lost: number
  /** A few of them, to look up in the logs. */
  lostSample: string[]
  /** event_ids with more than one row (the unique index should make this 0). */
  duplicates: number
  /** Rows whose event_id was never acknowledged: answered 503 after commit, or cut off by the fault. Not a loss. */
  unacked: number
}

/** Every event_id in user_metrics with its row count. */
export async function storedIds (databaseUrl: string): Promise<Map<string, number>> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  try {
    const rows = await sql<Array<{ id: string | null, n: number }>>`
      select event_id::text as id, count(*)::int as n from user_metrics group by event_id`
    return new Map(rows.map(row => [row.id ?? '(null)', row.n]))
  } finally {
    await sql.end({ timeout: 5 })
  }
}

export function reconcile (acked: ReadonlySet<string>, stored: ReadonlyMap<string, number>): Ledger {
  let rows = 0
  let duplicates = 0
  let unacked = 0
  for (const [id, n] of stored) {
    rows += n
    if (n > 1) duplicates++
    if (!acked.has(id)) unacked++
  }
  let lost = 0
  const lostSample: string[] = []
  for (const id of acked) {
    if (stored.has(id)) continue
    lost++
    if (lostSample.length < 5) lostSample.push(id)
  }
  return { acked: acked.size, stored: rows, lost, lostSample, duplicates, unacked }
}
