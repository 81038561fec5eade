/**
 * History for the growth group: `rows` events of the shared traffic (harness/events.ts) with their
 * timestamps spread evenly over the HISTORY_DAYS before `endMs`, oldest first (as they would have
 * arrived), each with a random (v4) event_id — COPY'd like ceiling-copy's chunks: a transaction
 * of users and sessions the first time they appear, then the metrics, so every foreign key holds.
 * The users are a range of their own, above the HTTP traffic's: no load ever writes to them.
 */
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Sql } from 'postgres'
import { eventSource, type TrafficEvent } from '../../../harness/events.js'
import { CopyEncoder, COPY_COLUMNS } from './copy-rows.js'

export interface HistoryPlan {
  rows: number
  /** The newest timestamp, epoch ms. */
  endMs: number
  /** A progress line after each transaction, e.g. `growth-partitioned/preload`. */
  label: string
  progress: (line: string) => void
}

export interface HistoryLoaded {
  rows: number
  users: number
  sessions: number
  /** COPY of users, sessions and metrics, all transactions. */
  seconds: number
}

export const HISTORY_DAYS = 30
/** The HTTP traffic's users are 1–10,000 (sessions up to 100,009): the history's start far above. */
const HISTORY_FIRST_USER = 1_000_000
const SESSIONS_PER_USER = 10
// A user's share of the history: 20 M rows spread over 100,000 users and 1 M sessions.
const ROWS_PER_USER = 200
const ROWS_PER_TRANSACTION = 100_000
// A line for every this many rows copied, at least.
const PROGRESS_EVERY_ROWS = 1_000_000
const DAY_MS = 86_400_000

export async function copyHistory (sql: Sql, plan: HistoryPlan): Promise<HistoryLoaded> {
  const users = Math.max(1, Math.ceil(plan.rows / ROWS_PER_USER))
  const source = eventSource({ users, firstUser: HISTORY_FIRST_USER, sessionsPerUser: SESSIONS_PER_USER })
  const encoder = new CopyEncoder()
  const startMs = plan.endMs - HISTORY_DAYS * DAY_MS
  const stepMs = HISTORY_DAYS * DAY_MS / plan.rows
  const seenUsers = new Set<number>()
  const seenSessions = new Set<number>()
  const started = performance.now()
  let copied = 0
  let reported = 0
  while (copied < plan.rows) {
    const events: TrafficEvent[] = []
    for (let i = copied; i < Math.min(plan.rows, copied + ROWS_PER_TRANSACTION); i++) {
      const event = source.next()
      seenUsers.add(event.user_id)
      seenSessions.add(event.session_id)
      events.push({ ...event, timestamp: Math.floor((startMs + i * stepMs) / 1000) })
    }
    const chunk = encoder.encode(events)
    await sql.begin(async tx => {
      // Sessions reference users through a deferred foreign key, checked at commit.
      if (chunk.users !== '') await pipeline(Readable.from([chunk.users]), await tx.unsafe(`copy ${COPY_COLUMNS.users} from stdin`).writable())
      if (chunk.sessions !== '') await pipeline(Readable.from([chunk.sessions]), await tx.unsafe(`copy ${COPY_COLUMNS.sessions} from stdin`).writable())
      await pipeline(Readable.from([chunk.metrics]), await tx.unsafe(`copy ${COPY_COLUMNS.metrics} from stdin`).writable())
    })
    copied += chunk.rows
    if (copied - reported >= PROGRESS_EVERY_ROWS || copied === plan.rows) {
      const seconds = (performance.now() - started) / 1000
      plan.progress(`${plan.label}  ${copied.toLocaleString('en')}/${plan.rows.toLocaleString('en')} rows  ${Math.round(copied / seconds).toLocaleString('en')} rows/s`)
      reported = copied
    }
  }
  return { rows: copied, users: seenUsers.size, sessions: seenSessions.size, seconds: (performance.now() - started) / 1000 }
}
