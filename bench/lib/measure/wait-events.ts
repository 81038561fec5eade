/**
 * What the writer's database connections were doing during a window, sampled from
 * pg_stat_activity every 50 ms: running, waiting on a lock, on the WAL, or waiting for the client
 * (`idle in transaction`: the service has not sent the next statement yet). It tells a
 * database-bound writer from a client-bound one.
 */
import type { Sql } from 'postgres'

export interface WaitShare {
  /** `running`, `idle in transaction (client)`, `idle`, or `<wait_event_type>:<wait_event>`. */
  state: string
  /** Of all samples of all the connections. */
  percent: number
}

const INTERVAL_MS = 50

function classify (row: { state: string | null, wait_event_type: string | null, wait_event: string | null }): string {
  if (row.state === 'idle in transaction') return 'idle in transaction (client)'
  if (row.state === 'idle') return 'idle'
  if (row.wait_event_type === null) return 'running'
  // ClientRead while active is PostgreSQL waiting for the rest of a message (a big Bind, COPY data).
  return `${row.wait_event_type}:${row.wait_event ?? ''}`
}

/** Starts sampling the connections whose application_name is `application`; stop() returns the shares. */
export function sampleWaits (sql: Sql, application: string): { stop: () => Promise<WaitShare[]> } {
  const counts = new Map<string, number>()
  let total = 0
  // An object, so the loop sees stop()'s write (a plain `let` reads as never changing to the linter).
  const sampling = { on: true }
  const loop = (async () => {
    while (sampling.on) {
      const started = performance.now()
      const rows = await sql<Array<{ state: string | null, wait_event_type: string | null, wait_event: string | null }>>`
        select state, wait_event_type, wait_event from pg_stat_activity
        where application_name = ${application} and pid <> pg_backend_pid()`
      for (const row of rows) {
        const state = classify(row)
        counts.set(state, (counts.get(state) ?? 0) + 1)
        total++
      }
      const rest = INTERVAL_MS - (performance.now() - started)
      if (rest > 0) await new Promise(resolve => setTimeout(resolve, rest))
    }
  })()
  return {
    stop: async () => {
      sampling.on = false
      await loop
      return [...counts.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([state, n]) => ({ state, percent: Math.round(n / total * 1000) / 10 }))
    }
  }
}

export function formatWaits (waits: readonly WaitShare[]): string {
  return `writer connections: ${waits.map(w => `${w.state} ${w.percent} %`).join(', ')}`
}
