/**
 * Live traffic: what a running fleet sends, not a replay of a fixed pool. The replayed pool's
 * steady state is the write path's best case — after one pass every session is known and no event
 * is newer than its user's stored profile, so a flush only inserts metrics. Here, as in production:
 * - every event is stamped with the second it is sent, so it is newer than its user's stored
 *   profile (unless that user already sent one this second): the flush updates the user, as
 *   "the latest event's name wins" requires;
 * - each user's session rolls over every `eventsPerSession` events, so a steady share of the
 *   events names a session never seen: the flush claims it.
 * The rest of each event (user, name, email, metrics, session details) is the shared traffic's,
 * serialised before the run, so the load generator's CPU still goes on sending.
 */
import { eventSource, type KeySpace } from '../../../harness/events.js'

export interface LiveTraffic {
  /** Events a session carries before its user moves on to a new one: 1 in this many events opens a session. */
  eventsPerSession: number
}

/** Session ids of live traffic: a user's n-th session is user × SESSION_SPAN + n (one owner each, never another user's). */
export const SESSION_SPAN = 1_000_000

/**
 * The next live event, as JSON without an event_id (withEventId adds one). `now` is the clock in
 * epoch milliseconds: the events' timestamps are its whole seconds.
 */
export function liveEvents (size: number, { eventsPerSession, seed, ...keys }: KeySpace & LiveTraffic & { seed: number },
  now: () => number = Date.now): () => string {
  if (!Number.isSafeInteger(eventsPerSession) || eventsPerSession < 1) {
    throw new TypeError(`eventsPerSession must be a positive integer, got ${eventsPerSession}`)
  }
  const source = eventSource({ ...keys, seed })
  const users: number[] = []
  // Each event without its session and timestamp: `"name":…}`, to follow the spliced-in keys.
  const tails: string[] = []
  for (let i = 0; i < size; i++) {
    const { user_id: user, session_id: _session, timestamp: _timestamp, ...rest } = source.next()
    users.push(user)
    tails.push(JSON.stringify(rest).slice(1))
  }
  // Events sent per user so far, each started at a different point of a session, so users do not
  // all open their next session at once.
  const sent = new Map<number, number>()
  let cursor = 0
  return () => {
    const user = users[cursor]!
    const tail = tails[cursor]!
    cursor = (cursor + 1) % size
    const count = sent.get(user) ?? user % eventsPerSession
    sent.set(user, count + 1)
    const session = user * SESSION_SPAN + Math.floor(count / eventsPerSession)
    return `{"user_id":${user},"session_id":${session},"timestamp":${Math.floor(now() / 1000)},${tail}`
  }
}
