/**
 * A batch in, one transaction out. The only file that writes the tables' rows (partitions: src/storage).
 *
 * Two ways to write a batch, with one outcome:
 * - **One statement** (`writeInOneStatement`), when nothing in the batch is known to conflict:
 *   claim the sessions this process has not seen, upsert the users whose profile may move, insert
 *   the metrics — data-modifying CTEs in one autocommit statement, one round trip. What
 *   `KnownRows` says is already stored is not written again, so in steady state the statement
 *   only inserts metrics. If a claimed session turns out to belong to another user, the
 *   statement raises and rolls back whole (migration 004), and the batch goes the other way.
 * - **A transaction** (`writeInTransaction`): claim the sessions, read back who owns each, keep
 *   the conflicting events in ingest_rejects and write the rest — the exact 409 path, pipelined
 *   into two round trips between BEGIN and COMMIT.
 *
 * Every statement has one text whatever the batch size: rows travel as typed arrays and
 * come apart in `unnest`, so postgres.js prepares each statement once (a `sql(rows)` insert
 * prepares one statement per row count and stops at 65,534 parameters — porsager/postgres#997).
 */
import type { TransactionSql } from 'postgres'
import { PartitionInterval } from '../config.js'
import { booleanArray, numberArray, textArray, uuidArray } from '../database/array-literal.js'
import type { Sql } from '../database/client.js'
import { isMissingPartition } from '../database/errors.js'
import { ErrorCode } from '../errors.js'
import { ensurePartitions } from '../storage/partitions.js'
import { knowNothing, type KnownRows } from './known-rows.js'
import { filledMask, sessionRows, userRows, type SessionRow } from './rows.js'
import type { MetricEvent } from './schema.js'

// Array element types for sql.array() in the statements off the hot path: postgres.js cannot
// infer them for unnest (the metrics insert builds its literals itself).
const INT8 = 20
const TEXT = 25
const FLOAT8 = 701
const UUID = 2950

/** Raised by ingest_claims_held() (migration 004): a session claimed in one statement is another user's. */
const CLAIM_REFUSED = 'MI409'
const FOREIGN_KEY_VIOLATION = '23503'
const UNIQUE_VIOLATION = '23505'

/** Where a statement is built: the pool (one autocommit statement) or a transaction. */
type Queries = Sql | TransactionSql

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

/** The events to insert, with where each sits in the batch; repeats of an event_id are marked duplicate. */
interface Accepted {
  statuses: EventStatus[]
  events: MetricEvent[]
  positions: number[]
  /** Each accepted event's event_id, lower case, or null. */
  ids: Array<string | null>
  /** Whether any event carries an event_id (only then can the insert skip one). */
  withIds: boolean
}

/** Creates the user_metrics partitions these instants (epoch ms) lack. */
export type MakePartitions = (instants: Iterable<number>) => Promise<unknown>

/**
 * Writes a batch: in one statement when it can, as a transaction when a session conflict must be
 * sorted out. Events naming a session owned by someone else are left out and reported as
 * conflicts; the rest commit. `known` (default: nothing) is what need not be written again.
 * A timestamp with no partition yet gets one (`makePartitions`; default: a day's), and the
 * batch is written again: a missing partition is never the event's fault.
 */
export async function writeBatch (sql: Sql, events: readonly MetricEvent[], receivedAt?: readonly number[], known: KnownRows = knowNothing,
  makePartitions: MakePartitions = async instants => await ensurePartitions(sql, PartitionInterval.day, instants)): Promise<BatchResult> {
  try {
    return await writeOnce(sql, events, receivedAt, known)
  } catch (err) {
    if (!isMissingPartition(err)) throw err
    await makePartitions(events.map(event => event.timestamp * 1000))
    return await writeOnce(sql, events, receivedAt, known)
  }
}

async function writeOnce (sql: Sql, events: readonly MetricEvent[], receivedAt: readonly number[] | undefined, known: KnownRows): Promise<BatchResult> {
  const plan = planOneStatement(events, known)
  if (plan !== undefined) {
    try {
      if (plan.sessions.length === 0 && plan.users.length === 0) return await writeMetricsOnly(sql, plan.accepted)
      return await writeInOneStatement(sql, plan, known)
    } catch (err) {
      const code = (err as { code?: unknown }).code
      // A row this process remembered was deleted behind its back: forget what it knew and write
      // everything. Otherwise the failure is the caller's to classify.
      if (code === FOREIGN_KEY_VIOLATION) known.clear()
      else if (code !== CLAIM_REFUSED) throw err
    }
  }
  return await writeInTransaction(sql, events, receivedAt, known)
}

interface OneStatementPlan {
  accepted: Accepted
  /** Sessions to claim or fill in, keys sorted. */
  sessions: SessionRow[]
  /** Users whose stored profile may be older than this batch's, keys sorted. */
  users: MetricEvent[]
}

/**
 * What one statement would write, or undefined when an event is known or bound to conflict.
 * Built for the steady state, where the row cache knows every session and user of the batch:
 * one lookup per event, and rows built only for what is new.
 */
function planOneStatement (events: readonly MetricEvent[], known: KnownRows): OneStatementPlan | undefined {
  let claiming: MetricEvent[] | undefined
  for (const event of events) {
    const stored = known.session(event.session_id)
    if (stored !== undefined && stored.owner !== event.user_id) return undefined
    if (stored === undefined || (filledMask(event) & ~stored.filled) !== 0) (claiming ??= []).push(event)
  }
  let sessions: SessionRow[] = []
  if (claiming !== undefined) {
    // A session this batch claims is the first claimer's: an event of another user in it is a conflict.
    sessions = sessionRows(claiming)
    const claimer = new Map<number, number>()
    for (const row of sessions) claimer.set(row.session_id, row.user_id)
    for (const event of claiming) if (claimer.get(event.session_id) !== event.user_id) return undefined
  }
  const accepted = acceptAll(events, () => true)
  // A user is written only when an event is later than the profile_at known stored.
  let newer: MetricEvent[] | undefined
  for (const event of accepted.events) {
    const profileAt = known.profileAt(event.user_id)
    if (profileAt === undefined || event.timestamp > profileAt) (newer ??= []).push(event)
  }
  return { accepted, sessions, users: newer === undefined ? [] : userRows(newer) }
}

/** Marks every event `isOwner` accepts as committed, but for repeats of an event_id. */
function acceptAll (events: readonly MetricEvent[], isOwner: (event: MetricEvent) => boolean): Accepted {
  const statuses: EventStatus[] = new Array(events.length)
  const accepted: Accepted = { statuses, events: [], positions: [], ids: [], withIds: false }
  // An event is its id and its timestamp (the unique key of migration 005), here as there: an id
  // maps to the first timestamp it came with, and only an id seen at several goes by id@timestamp
  // (a key that costs a number's conversion to text, which every event would otherwise pay).
  let firstAt: Map<string, number> | undefined
  let laterAt: Set<string> | undefined
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!
    if (!isOwner(event)) {
      statuses[i] = EventStatus.conflict
      continue
    }
    let id: string | null = null
    if (event.event_id !== undefined) {
      id = event.event_id.toLowerCase()
      firstAt ??= new Map()
      const first = firstAt.get(id)
      if (first === undefined) {
        firstAt.set(id, event.timestamp)
      } else {
        const key = `${id}@${event.timestamp}`
        if (first === event.timestamp || laterAt?.has(key) === true) {
          statuses[i] = EventStatus.duplicate
          continue
        }
        (laterAt ??= new Set()).add(key)
      }
      accepted.withIds = true
    }
    statuses[i] = EventStatus.committed
    accepted.events.push(event)
    accepted.positions.push(i)
    accepted.ids.push(id)
  }
  return accepted
}

async function writeInOneStatement (sql: Sql, { accepted, sessions, users }: OneStatementPlan, known: KnownRows): Promise<BatchResult> {
  const { events: metrics, ids } = accepted
  const [row] = await sql<[{ claimed: string[] | null, filled: number[] | null, stored: string[] | null }]>`
    with claimed as (
      ${upsertSessions(sql, sessions)}
      -- The claimer's own session is touched even when nothing fills in, so that RETURNING lists
      -- every session held; one missing from it is another user's. Only sessions this process has
      -- not seen (or with details to fill) are here, so that is once per session per process.
      where sessions.user_id = excluded.user_id
      returning session_id, ${filledDetails(sql)} as filled
    ), profiles as (
      ${upsertUsers(sql, users)}
    ), stored as (
      ${insertMetrics(sql, metrics, ids)}
    )
    select ingest_claims_held((select count(*) from claimed), ${sessions.length}::int8) as held,
      (select array_agg(session_id order by session_id) from claimed) as claimed,
      (select array_agg(filled order by session_id) from claimed) as filled,
      (select array_agg(event_id) from stored where event_id is not null) as stored`

  // Committed: these are facts now.
  const claimed = row?.claimed ?? []
  const filled = row?.filled ?? []
  if (claimed.length > 0) {
    // Every claimed session is held by its claimer (the guard saw to that).
    const claimer = new Map(sessions.map(s => [s.session_id, s.user_id]))
    for (const [i, id] of claimed.entries()) {
      const sessionId = Number(id)
      known.rememberSession(sessionId, { owner: claimer.get(sessionId)!, filled: filled[i]! })
    }
  }
  for (const user of users) known.rememberProfileAt(user.user_id, user.timestamp)
  if (accepted.withIds) markStoredBefore(accepted, ids, new Set(row?.stored ?? []))
  return batchResult(accepted.statuses)
}

/**
 * The steady state: every session and user of the batch is already stored as the batch would
 * leave it, so the flush is the metrics insert alone — one autocommit statement, nothing else
 * for PostgreSQL to plan or run. A session deleted behind the cache fails it with a foreign-key
 * violation (writeOnce takes it from there).
 */
async function writeMetricsOnly (sql: Sql, accepted: Accepted): Promise<BatchResult> {
  const { events, ids } = accepted
  // Almost no flush holds an event stored before (only a client's retry does; an event without an
  // id never conflicts), and a plain insert costs PostgreSQL less than one that checks for
  // conflicts first (no speculative insertion, no confirmation record per row). A retry fails it
  // whole, and the checking insert sorts out which events were there already.
  try {
    await insertMetrics(sql, events, ids, { skipStored: false })
    return batchResult(accepted.statuses)
  } catch (err) {
    if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err
  }
  const stored = await insertMetrics(sql, events, ids)
  markStoredBefore(accepted, ids, new Set(stored.map(row => row.event_id)))
  return batchResult(accepted.statuses)
}

/**
 * An id the insert skipped was stored already (by an earlier batch, or a concurrent one): a
 * duplicate. Matched by id alone: a batch that reuses one id at two timestamps (two events, as far
 * as the unique key goes) has both reported committed if either was stored.
 */
function markStoredBefore (accepted: Accepted, ids: ReadonlyArray<string | null>, stored: ReadonlySet<string | null>): void {
  for (const [k, id] of ids.entries()) {
    if (id !== null && !stored.has(id)) accepted.statuses[accepted.positions[k]!] = EventStatus.duplicate
  }
}

/**
 * Writes a batch in one transaction: claim the sessions, find out who owns each, then upsert
 * the users and insert the metrics of the events whose session is theirs.
 */
async function writeInTransaction (sql: Sql, events: readonly MetricEvent[], receivedAt: readonly number[] | undefined, known: KnownRows): Promise<BatchResult> {
  const sessions = sessionRows(events)
  const sessionIds = sessions.map(s => s.session_id)

  const { result, owners, users } = await sql.begin(async tx => {
    // Sessions first, in key order: the users FK is deferred to commit, so a rejected event
    // never touches its user's row. The owners are read by a second statement, pipelined with
    // the first: it sees sessions a concurrent flush committed while the first one waited.
    const [, owners] = await Promise.all([
      tx`
        ${upsertSessions(tx, sessions)}
        -- Only where the owner's event brings a detail the row lacks: no row lock otherwise.
        where sessions.user_id = excluded.user_id and (
          (sessions.device_id is null and excluded.device_id is not null) or
          (sessions.platform is null and excluded.platform is not null) or
          (sessions.location is null and excluded.location is not null) or
          (sessions.start_time is null and excluded.start_time is not null) or
          (sessions.end_time is null and excluded.end_time is not null))`,
      tx<Array<{ session_id: string, user_id: string, filled: number }>>`
        select session_id, user_id, ${filledDetails(tx)} as filled
        from sessions where session_id = any(${tx.array(sessionIds, INT8)}::int8[])`
    ])
    const ownerOf = new Map(owners.map(row => [Number(row.session_id), Number(row.user_id)]))

    const accepted = acceptAll(events, event => ownerOf.get(event.session_id) === event.user_id)
    const conflicts: Reject[] = []
    for (const [i, status] of accepted.statuses.entries()) {
      if (status !== EventStatus.conflict) continue
      const event = events[i]!
      conflicts.push({
        event,
        receivedAt: receivedAt?.[i] ?? Date.now(),
        code: ErrorCode.sessionConflict,
        sqlstate: null,
        message: `session ${event.session_id} belongs to another user`
      })
    }
    const users = userRows(accepted.events)
    const { ids } = accepted
    const writes: Array<Promise<unknown>> = []
    if (conflicts.length > 0) writes.push(insertRejects(tx, conflicts))
    if (accepted.events.length > 0) writes.push(upsertUsers(tx, users))
    const inserted = accepted.events.length > 0 ? insertMetrics(tx, accepted.events, ids) : Promise.resolve([])
    // Pipelined in lock order (sessions, then users, then metrics): sent together, answered in
    // order; the first refusal rejects the lot.
    const answers = await Promise.all([...writes, inserted])
    const stored = answers[answers.length - 1] as Array<{ event_id: string | null }>
    if (accepted.withIds) markStoredBefore(accepted, ids, new Set(stored.map(row => row.event_id)))
    return { result: batchResult(accepted.statuses), owners, users }
  })

  // Committed: these are facts now.
  for (const row of owners) known.rememberSession(Number(row.session_id), { owner: Number(row.user_id), filled: row.filled })
  for (const user of users) known.rememberProfileAt(user.user_id, user.timestamp)
  return result
}

/**
 * The sessions upsert both ways share, up to its WHERE: a later report fills the details a
 * stored row lacks and never breaks end >= start (rows.ts `mergeSessionDetails` is the same rule).
 */
function upsertSessions (sql: Queries, sessions: readonly SessionRow[]) {
  return sql`
    insert into sessions (session_id, user_id, device_id, platform, location, start_time, end_time)
    select s, u, d, p, l, to_timestamp(st), to_timestamp(et)
    from unnest(
      ${sql.array(sessions.map(s => s.session_id), INT8)}::int8[],
      ${sql.array(sessions.map(s => s.user_id), INT8)}::int8[],
      ${sql.array(sessions.map(s => s.device_id), TEXT)}::text[],
      ${sql.array(sessions.map(s => s.platform), TEXT)}::text[],
      ${sql.array(sessions.map(s => s.location), TEXT)}::text[],
      ${sql.array(sessions.map(s => s.start_time), FLOAT8)}::float8[],
      ${sql.array(sessions.map(s => s.end_time), FLOAT8)}::float8[]
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
        then excluded.end_time end)`
}

/** A session row's details as rows.ts `Filled` bits. */
function filledDetails (sql: Queries) {
  return sql`((device_id is not null)::int + (platform is not null)::int * 2 +
    (location is not null)::int * 4 + (start_time is not null)::int * 8 + (end_time is not null)::int * 16)`
}

/** Each user's profile from the latest event, unless the stored one is later. */
function upsertUsers (sql: Queries, users: readonly MetricEvent[]) {
  return sql`
    insert into users (user_id, name, email, profile_at)
    select u, n, e, to_timestamp(t)
    from unnest(
      ${sql.array(users.map(u => u.user_id), INT8)}::int8[],
      ${sql.array(users.map(u => u.name), TEXT)}::text[],
      ${sql.array(users.map(u => u.email), TEXT)}::text[],
      ${sql.array(users.map(u => u.timestamp), FLOAT8)}::float8[]
    ) as input(u, n, e, t)
    on conflict (user_id) do update set
      name = excluded.name, email = excluded.email, profile_at = excluded.profile_at, updated_at = now()
    where excluded.profile_at > users.profile_at`
}

/**
 * The metrics; an event already stored (its event_id at its timestamp) is skipped, and the ids
 * inserted come back. With `skipStored: false`, a plain insert that fails whole (23505) on an event
 * stored before, and returns nothing. Every flush runs one of the two: its arrays are literals
 * built in one pass (database/array-literal.ts) rather than through postgres.js's per-element
 * serializer. `ids`: each event's event_id, lower case, or null. Exported for the bench, whose
 * floor server and row-costs measure this very statement.
 */
export function insertMetrics (sql: Queries, events: readonly MetricEvent[], ids: Array<string | null>, { skipStored = true } = {}) {
  const n = events.length
  const sessions: number[] = new Array(n)
  const talked: number[] = new Array(n)
  const microphone: boolean[] = new Array(n)
  const speaker: boolean[] = new Array(n)
  const sentiment: string[] = new Array(n)
  const at: number[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const e = events[i]!
    sessions[i] = e.session_id
    talked[i] = e.talked_time
    microphone[i] = e.microphone_used
    speaker[i] = e.speaker_used
    sentiment[i] = e.voice_sentiment
    at[i] = e.timestamp
  }
  return sql<Array<{ event_id: string | null }>>`
    insert into user_metrics (event_id, session_id, talked_time, microphone_used, speaker_used, voice_sentiment, "timestamp")
    select id, s, make_interval(secs => t), m, sp, v, to_timestamp(ts)
    from unnest(
      ${uuidArray(ids)}::uuid[],
      ${numberArray(sessions)}::int8[],
      ${numberArray(talked)}::float8[],
      ${booleanArray(microphone)}::bool[],
      ${booleanArray(speaker)}::bool[],
      ${textArray(sentiment)}::text[],
      ${numberArray(at)}::float8[]
    ) as input(id, s, t, m, sp, v, ts)
    ${skipStored ? sql`on conflict (event_id, "timestamp") do nothing returning event_id` : sql``}`
}

/** Keeps events the database would not take, each with why, in one transaction of their own. */
export async function recordRejects (sql: Sql, rejects: readonly Reject[]): Promise<void> {
  await sql.begin(async tx => { await insertRejects(tx, rejects) })
}

function insertRejects (tx: Queries, rejects: readonly Reject[]) {
  return tx`
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
