/**
 * What this process knows is already stored, so a flush need not write it again: a session's
 * owner (it never changes) with the details it holds (only ever filled in), and a lower bound of
 * each user's profile_at (it only grows). Every value is immutable or a lower bound, so several
 * processes on one database stay correct: a stale entry costs a needless upsert, never a wrong
 * row. Rows deleted behind its back surface as a foreign-key violation; the writer then clears
 * everything it knew and writes the batch in full. It clears all, not the batch's keys: rows
 * leave in bulk (a truncate, a retention sweep), and clearing key by key would fail one flush for
 * every stale key. Not covered: a user deleted and re-inserted by another process with an older
 * profile_at while this one still knows the newer bound (docs/architecture.md).
 */
import { LRUCache } from 'lru-cache'

export interface KnownSession {
  owner: number
  /** Filled-details bits (rows.ts `Filled`) the stored row is known to hold. */
  filled: number
}

/** Lookups since the process started, by table and result: running totals, read at scrape time. */
export interface RowCacheLookups {
  sessions: { hit: number, miss: number }
  users: { hit: number, miss: number }
}

export interface KnownRows {
  session: (sessionId: number) => KnownSession | undefined
  /** The stored profile_at is at least this (unix seconds); undefined when unknown. */
  profileAt: (userId: number) => number | undefined
  rememberSession: (sessionId: number, known: KnownSession) => void
  rememberProfileAt: (userId: number, atLeast: number) => void
  /** Forgets everything: some of it is no longer stored. */
  clear: () => void
  /** Every session() and profileAt() so far, counted; plain numbers, so a lookup costs no metric call. */
  readonly lookups: Readonly<RowCacheLookups>
}

/** No lookups yet. */
export function noLookups (): RowCacheLookups {
  return { sessions: { hit: 0, miss: 0 }, users: { hit: 0, miss: 0 } }
}

/** Knows nothing: every flush writes every row (ROW_CACHE_ENTRIES=0, and the writer's default). */
export const knowNothing: KnownRows = {
  session: () => undefined,
  profileAt: () => undefined,
  rememberSession: () => {},
  rememberProfileAt: () => {},
  clear: () => {},
  lookups: noLookups()
}

/** A bounded LRU of each kind of fact, `entries` each. */
export function knownRowsCache (entries: number): KnownRows {
  if (entries === 0) return knowNothing
  const sessions = new LRUCache<number, KnownSession>({ max: entries })
  const users = new LRUCache<number, number>({ max: entries })
  const lookups = noLookups()
  return {
    lookups,
    session (sessionId) {
      const known = sessions.get(sessionId)
      if (known === undefined) lookups.sessions.miss++
      else lookups.sessions.hit++
      return known
    },
    profileAt (userId) {
      const known = users.get(userId)
      if (known === undefined) lookups.users.miss++
      else lookups.users.hit++
      return known
    },
    rememberSession (sessionId, known) {
      const before = sessions.peek(sessionId)
      // Details only fill in: never forget a bit another flush already saw stored.
      sessions.set(sessionId, before === undefined ? known : { owner: known.owner, filled: known.filled | before.filled })
    },
    rememberProfileAt (userId, atLeast) {
      const before = users.peek(userId)
      if (before === undefined || atLeast > before) users.set(userId, atLeast)
    },
    clear () {
      sessions.clear()
      users.clear()
    }
  }
}
