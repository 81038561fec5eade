/**
 * Live traffic for the bench (bench/lib/load/live-events.ts): events the service accepts, stamped
 * with the clock's second, each session one user's, and a new session every `eventsPerSession`
 * events of a user — so the live-traffic scenario measures profile updates and session claims,
 * not the replayed pool's steady state.
 */
import t from 'tap'
import { Compile } from 'typebox/compile'
import { SESSION_SPAN, liveEvents } from '../../bench/lib/load/live-events.js'
import { withEventId } from '../../bench/lib/load/event-pool.js'
import { EventSchema, eventProblems, type MetricEvent } from '../../src/ingest/schema.js'

const validator = Compile(EventSchema)

function take (next: () => string, n: number): MetricEvent[] {
  return Array.from({ length: n }, () => JSON.parse(withEventId(next())) as MetricEvent)
}

t.test('every event is one the service accepts, stamped with the clock\'s second', async t => {
  let clock = 1_780_000_000_250
  const next = liveEvents(500, { seed: 7, eventsPerSession: 10 }, () => clock)
  const first = take(next, 500)
  clock += 2_000
  const later = take(next, 10)
  const refused = [...first, ...later].filter(event => !validator.Check(event) || eventProblems(event, clock / 1000).length > 0)
  t.same(refused, [], 'the schema and the checks beyond it pass every event')
  t.ok(first.every(e => e.timestamp === 1_780_000_000), 'the whole second, not its fraction')
  t.ok(later.every(e => e.timestamp === 1_780_000_002), 'the clock read at each call, not once')
  t.ok(first.some(e => e.device_id !== undefined) && first.some(e => e.device_id === undefined), 'session details on some events, as in the shared traffic')
})

t.test('a user moves to a new session every eventsPerSession events; a session is only ever its user\'s', async t => {
  const eventsPerSession = 4
  const events = take(liveEvents(2_000, { seed: 3, users: 50, eventsPerSession }, () => 1_780_000_000_000), 2_000)
  const ownerOf = new Map<number, number>()
  const sessionsOf = new Map<number, number[]>()
  for (const { user_id: user, session_id: session } of events) {
    if (Math.floor(session / SESSION_SPAN) !== user) t.fail(`session ${session} does not name its user ${user}`)
    if ((ownerOf.get(session) ?? user) !== user) t.fail(`session ${session} posted by two users`)
    ownerOf.set(session, user)
    const seen = sessionsOf.get(user) ?? []
    seen.push(session)
    sessionsOf.set(user, seen)
  }
  for (const [user, sessions] of sessionsOf) {
    // Runs of one session: at most eventsPerSession long, the first one shorter (users start mid-session).
    const runs: number[] = []
    for (const [i, session] of sessions.entries()) {
      if (i > 0 && session === sessions[i - 1]) runs[runs.length - 1]!++
      else {
        if (i > 0 && session !== sessions[i - 1]! + 1) t.fail(`user ${user} skipped from session ${sessions[i - 1]} to ${session}`)
        runs.push(1)
      }
    }
    if (runs.slice(1, -1).some(run => run !== eventsPerSession)) t.fail(`user ${user}: runs ${runs.join(',')}`)
  }
  const opened = [...sessionsOf.values()].reduce((n, sessions) => n + new Set(sessions).size, 0)
  // 2,000 events, 50 users: ~500 sessions after the first of each user.
  t.ok(opened > 2_000 / eventsPerSession && opened <= 2_000 / eventsPerSession + 50, `one session per ${eventsPerSession} events (${opened} sessions)`)
  t.equal(new Set(events.map(e => e.user_id)).size, 50, 'the key space given')
})

t.test('the pool cycles: the same users again, their sessions moving on', async t => {
  const next = liveEvents(3, { seed: 1, users: 1, eventsPerSession: 2 }, () => 0)
  const sessions = take(next, 6).map(e => e.session_id % SESSION_SPAN)
  // One user, starting a session in (user 1 % 2 = 1 event already sent): 0 | 1 1 | 2 2 | 3.
  t.same(sessions, [0, 1, 1, 2, 2, 3])
})

t.test('eventsPerSession must be a positive integer', async t => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    t.throws(() => liveEvents(10, { seed: 1, eventsPerSession: bad }), { name: 'TypeError', message: /eventsPerSession must be a positive integer/ })
  }
})
