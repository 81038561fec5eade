/**
 * A batch in, one transaction out. The only file that knows the tables' SQL.
 *
 * Every statement has one text whatever the batch size: rows travel as typed arrays and
 * come apart in `unnest`, so postgres.js prepares each statement once (a `sql(rows)` insert
 * prepares one statement per row count and stops at 65,534 parameters — porsager/postgres#997).
 */
import type { Sql } from '../database/client.js'
import { ErrorCode } from '../errors.js'
import type { TransactionSql } from 'postgres'
import type { MetricEvent } from './schema.js'

// Array element types for sql.array(): postgres.js cannot infer them for unnest, and a
// JS boolean[] does not bind at all, while 't'/'f' strings cast to bool[] store all false.
const INT8 = 20
const TEXT = 25
const FLOAT8 = 701
const BOOL = 16
const UUID = 2950

export const EventStatus = {
  committed: 'committed',
  /** Its event_id was already stored (or came earlier in the same batch): acknowledged, not stored again. */
  duplicate: 'duplicate',
  /** The session belongs to another user. */
  conflict: 'conflict',
  /** The database refused this event on its own (a poison row); it is kept in ingest_rejects. */
  rejected: 'rejected'
} as const
export type EventStatus = typeof EventStatus[keyof typeof EventStatus]

export interface BatchResult {
  /** One status per event, in the order given. */
  statuses: EventStatus[]
  /** The SQLSTATE of each `rejected` event, by index. */
  sqlstates: Map<number, string>
  committed: number
  duplicates: number
  conflicts: number
  rejected: number
}

/** An event kept in ingest_rejects instead of user_metrics. */
export interface Reject {
  event: MetricEvent
  /** When the service received it, epoch milliseconds. */
  receivedAt: number
  code: typeof ErrorCode.sessionConflict | typeof ErrorCode.rejectedByDatabase
  sqlstate: string | null
  message: string
}

interface SessionDetails {
  device_id: string | null
  platform: string | null
  location: string | null
  start_time: number | null
  end_time: number | null
}

interface SessionRow extends SessionDetails {
  session_id: number
  user_id: number
}

/**
 * How a later report fills a session's details: a column once set is kept, a missing one is
 * filled, and a time that would put end before start is dropped. The SQL upsert below applies
 * the same rule against the stored row.
 */
export function mergeSessionDetails (stored: SessionDetails, incoming: SessionDetails): SessionDetails {
  const start = stored.start_time ?? (
    incoming.start_time !== null && incoming.start_time <= (stored.end_time ?? incoming.end_time ?? incoming.start_time)
      ? incoming.start_time
      : null)
  const end = stored.end_time ?? (
    incoming.end_time !== null && incoming.end_time >= (stored.start_time ?? incoming.start_time ?? incoming.end_time)
      ? incoming.end_time
      : null)
  return {
    device_id: stored.device_id ?? incoming.device_id,
    platform: stored.platform ?? incoming.platform,
    location: stored.location ?? incoming.location,
    start_time: start,
    end_time: end
  }
}

function detailsOf (event: MetricEvent): SessionDetails {
  return {
    device_id: event.device_id ?? null,
    platform: event.platform ?? null,
    location: event.location ?? null,
    start_time: event.start_time ?? null,
    end_time: event.end_time ?? null
  }
}

/** One row per session, claimed by the first event that names it, keys sorted (lock order). */
export function sessionRows (events: readonly MetricEvent[]): SessionRow[] {
  const bySession = new Map<number, SessionRow>()
  for (const event of events) {
    const row = bySession.get(event.session_id)
    if (row === undefined) {
      bySession.set(event.session_id, { session_id: event.session_id, user_id: event.user_id, ...detailsOf(event) })
    } else if (row.user_id === event.user_id) {
      Object.assign(row, mergeSessionDetails(row, detailsOf(event)))
    }
  }
  return [...bySession.values()].sort((a, b) => a.session_id - b.session_id)
}

/** One row per user from the events given, the latest timestamp winning, keys sorted (lock order). */
export function userRows (events: readonly MetricEvent[]): MetricEvent[] {
  const byUser = new Map<number, MetricEvent>()
  for (const event of events) {
    const seen = byUser.get(event.user_id)
    if (seen === undefined || event.timestamp >= seen.timestamp) byUser.set(event.user_id, event)
  }
  return [...byUser.values()].sort((a, b) => a.user_id - b.user_id)
}

/**
 * Writes a batch in one transaction: claim the sessions, find out who owns each, then upsert
 * the users and insert the metrics of the events whose session is theirs. Events naming a
 * session owned by someone else are left out and reported as conflicts; the rest commit.
 */
export async function writeBatch (sql: Sql, events: readonly MetricEvent[], receivedAt?: readonly number[]): Promise<BatchResult> {
  const sessions = sessionRows(events)
  const sessionIds = sessions.map(s => s.session_id)

  return await sql.begin(async tx => {
    // Sessions first, in key order: the users FK is deferred to commit, so a rejected
    // event never touches its user's row.
    await tx`
      insert into sessions (session_id, user_id, device_id, platform, location, start_time, end_time)
      select s, u, d, p, l, to_timestamp(st), to_timestamp(et)
      from unnest(
        ${tx.array(sessionIds, INT8)}::int8[],
        ${tx.array(sessions.map(s => s.user_id), INT8)}::int8[],
        ${tx.array(sessions.map(s => s.device_id), TEXT)}::text[],
        ${tx.array(sessions.map(s => s.platform), TEXT)}::text[],
        ${tx.array(sessions.map(s => s.location), TEXT)}::text[],
        ${tx.array(sessions.map(s => s.start_time), FLOAT8)}::float8[],
        ${tx.array(sessions.map(s => s.end_time), FLOAT8)}::float8[]
      ) as input(s, u, d, p, l, st, et)
      on conflict (session_id) do update set
        device_id = coalesce(sessions.device_id, excluded.device_id),
        platform = coalesce(sessions.platform, excluded.platform),
        location = coalesce(sessions.location, excluded.location),
        start_time = coalesce(sessions.start_time,
          case when excluded.start_time <= coalesce(sessions.end_time, excluded.end_time, excluded.start_time)
          then excluded.start_time end),
        end_time = coalesce(sessions.end_time,
          case when excluded.end_time >= coalesce(sessions.start_time, excluded.start_time, excluded.end_time)
          then excluded.end_time end)
      where sessions.user_id = excluded.user_id and (
        (sessions.device_id is null and excluded.device_id is not null) or
        (sessions.platform is null and excluded.platform is not null) or
        (sessions.location is null and excluded.location is not null) or
        (sessions.start_time is null and excluded.start_time is not null) or
        (sessions.end_time is null and excluded.end_time is not null))`

    // A separate statement sees sessions that a concurrent flush committed while we waited.
    const owners = await tx<Array<{ session_id: string, user_id: string }>>`
      select session_id, user_id from sessions where session_id = any(${tx.array(sessionIds, INT8)}::int8[])`
    const ownerOf = new Map(owners.map(row => [row.session_id, row.user_id]))

    const statuses: EventStatus[] = new Array(events.length)
    const accepted: MetricEvent[] = []
    const conflicts: Reject[] = []
    // Where each accepted event sits in `events`, and the first index of each event_id.
    const positions: number[] = []
    const firstWithId = new Map<string, number>()
    for (const [i, event] of events.entries()) {
      if (ownerOf.get(String(event.session_id)) !== String(event.user_id)) {
        statuses[i] = EventStatus.conflict
        conflicts.push({
          event,
          receivedAt: receivedAt?.[i] ?? Date.now(),
          code: ErrorCode.sessionConflict,
          sqlstate: null,
          message: `session ${event.session_id} belongs to another user`
        })
        continue
      }
      if (event.event_id !== undefined) {
        const id = event.event_id.toLowerCase()
        if (firstWithId.has(id)) {
          statuses[i] = EventStatus.duplicate
          continue
        }
        firstWithId.set(id, i)
      }
      statuses[i] = EventStatus.committed
      accepted.push(event)
      positions.push(i)
    }
    if (conflicts.length > 0) await insertRejects(tx, conflicts)
    if (accepted.length === 0) return batchResult(statuses)

    const users = userRows(accepted)
    await tx`
      insert into users (user_id, name, email, profile_at)
      select u, n, e, to_timestamp(t)
      from unnest(
        ${tx.array(users.map(u => u.user_id), INT8)}::int8[],
        ${tx.array(users.map(u => u.name), TEXT)}::text[],
        ${tx.array(users.map(u => u.email), TEXT)}::text[],
        ${tx.array(users.map(u => u.timestamp), FLOAT8)}::float8[]
      ) as input(u, n, e, t)
      on conflict (user_id) do update set
        name = excluded.name, email = excluded.email, profile_at = excluded.profile_at, updated_at = now()
      where excluded.profile_at > users.profile_at`

    const ids = accepted.map(e => e.event_id?.toLowerCase() ?? null)
    const inserted = await tx<Array<{ event_id: string | null }>>`
      insert into user_metrics (event_id, session_id, talked_time, microphone_used, speaker_used, voice_sentiment, "timestamp")
      select id, s, make_interval(secs => t), m, sp, v, to_timestamp(ts)
      from unnest(
        ${tx.array(ids, UUID)}::uuid[],
        ${tx.array(accepted.map(e => e.session_id), INT8)}::int8[],
        ${tx.array(accepted.map(e => e.talked_time), FLOAT8)}::float8[],
        ${tx.array(accepted.map(e => e.microphone_used), BOOL)}::bool[],
        ${tx.array(accepted.map(e => e.speaker_used), BOOL)}::bool[],
        ${tx.array(accepted.map(e => e.voice_sentiment), TEXT)}::text[],
        ${tx.array(accepted.map(e => e.timestamp), FLOAT8)}::float8[]
      ) as input(id, s, t, m, sp, v, ts)
      on conflict (event_id) do nothing
      returning event_id`

    // An id already stored (by an earlier batch, or a concurrent one that committed first)
    // was not inserted: that event is a duplicate.
    if (firstWithId.size > 0) {
      const stored = new Set(inserted.map(row => row.event_id))
      for (const [k, id] of ids.entries()) {
        if (id !== null && !stored.has(id)) statuses[positions[k]!] = EventStatus.duplicate
      }
    }
    return batchResult(statuses)
  })
}

/** Keeps events the database would not take, each with why, in one transaction of their own. */
export async function recordRejects (sql: Sql, rejects: readonly Reject[]): Promise<void> {
  await sql.begin(async tx => { await insertRejects(tx, rejects) })
}

async function insertRejects (tx: TransactionSql, rejects: readonly Reject[]): Promise<void> {
  await tx`
    insert into ingest_rejects (event, event_id, code, sqlstate, message, received_at)
    select e::jsonb, id, c, st, m, to_timestamp(r / 1000.0)
    from unnest(
      ${tx.array(rejects.map(r => JSON.stringify(r.event)), TEXT)}::text[],
      ${tx.array(rejects.map(r => r.event.event_id ?? null), UUID)}::uuid[],
      ${tx.array(rejects.map(r => r.code), TEXT)}::text[],
      ${tx.array(rejects.map(r => r.sqlstate), TEXT)}::text[],
      ${tx.array(rejects.map(r => r.message), TEXT)}::text[],
      ${tx.array(rejects.map(r => r.receivedAt), FLOAT8)}::float8[]
    ) as input(e, id, c, st, m, r)`
}

/** A batch's result from its statuses: the counts beside them. */
export function batchResult (statuses: EventStatus[], sqlstates = new Map<number, string>()): BatchResult {
  const counts = { committed: 0, duplicate: 0, conflict: 0, rejected: 0 }
  for (const status of statuses) counts[status]++
  return {
    statuses,
    sqlstates,
    committed: counts.committed,
    duplicates: counts.duplicate,
    conflicts: counts.conflict,
    rejected: counts.rejected
  }
}
