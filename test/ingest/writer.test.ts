import t from 'tap'
import type { MetricEvent } from '../../src/ingest/schema.js'
import { mergeSessionDetails, sessionRows, userRows } from '../../src/ingest/rows.js'
import { writeBatch } from '../../src/ingest/writer.js'
import { testDatabase, truncate } from '../helpers/database.js'
import { event } from '../helpers/app.js'

const db = await testDatabase(t)
const { sql } = db

const ev = (overrides: Partial<MetricEvent> = {}): MetricEvent => event(overrides) as unknown as MetricEvent

t.beforeEach(async () => { await truncate(sql) })

t.test('what lands is what was sent: booleans, fractions, times and awkward text', async t => {
  const awkward = ['NULL', 'null', '"quoted"', 'back\\slash', 'comma, {brace}', 'ünïcödé ✓ 🎙️', ' padded ', "it's"]
  const events = awkward.map((name, i) => ev({
    user_id: i + 1,
    session_id: 100 + i,
    name,
    email: `u${i}@example.com`,
    talked_time: i + 0.5,
    microphone_used: i % 2 === 0,
    speaker_used: i % 3 === 0,
    voice_sentiment: (['positive', 'neutral', 'negative'] as const)[i % 3]!,
    timestamp: 1622558400.25 + i,
    device_id: name,
    ...(i === 0 ? {} : { platform: 'ios', location: 'Yerevan', start_time: 1622558000, end_time: 1622558500 })
  }))
  const result = await writeBatch(sql, events)
  t.equal(result.committed, events.length)
  t.equal(result.conflicts, 0)

  const users = await sql`select user_id::int, name, email from users order by user_id`
  t.same(users.map(u => u.name), awkward, 'text survives the array encoding byte for byte, NULL-looking strings included')
  const sessions = await sql`select session_id::int, device_id, platform, location,
    extract(epoch from start_time)::float8 as start, extract(epoch from end_time)::float8 as end from sessions order by session_id`
  t.same(sessions.map(s => s.device_id), awkward)
  t.same(sessions[0], { session_id: 100, device_id: 'NULL', platform: null, location: null, start: null, end: null }, 'absent details are SQL NULL')
  t.same(sessions[1], { session_id: 101, device_id: 'null', platform: 'ios', location: 'Yerevan', start: 1622558000, end: 1622558500 })

  const metrics = await sql`select session_id::int, talked_time::text, extract(epoch from talked_time)::float8 as seconds,
    microphone_used, speaker_used, voice_sentiment, extract(epoch from "timestamp")::float8 as ts from user_metrics order by session_id`
  t.same(metrics.map(m => m.microphone_used), events.map(e => e.microphone_used), 'microphone_used as sent (true and false)')
  t.same(metrics.map(m => m.speaker_used), events.map(e => e.speaker_used), 'speaker_used as sent')
  t.same(metrics.map(m => m.seconds), events.map(e => e.talked_time), 'talked_time to the fraction')
  t.equal(metrics[0]!.talked_time, '00:00:00.5')
  t.same(metrics.map(m => m.ts), events.map(e => e.timestamp), 'timestamp to the fraction')
  t.same(metrics.map(m => m.voice_sentiment), events.map(e => e.voice_sentiment))
})

t.test('the origin example stores talked_time 120 as 00:02:00', async t => {
  await writeBatch(sql, [ev()])
  const [row] = await sql`select talked_time::text from user_metrics`
  t.equal(row!.talked_time, '00:02:00')
})

t.test('a session owned by another user is a conflict; the rest of the batch commits', async t => {
  const first = await writeBatch(sql, [
    ev({ user_id: 1, session_id: 7 }),
    ev({ user_id: 2, session_id: 7, name: 'Intruder' }),
    ev({ user_id: 2, session_id: 8, name: 'Jane' })
  ])
  t.same(first.statuses, ['committed', 'conflict', 'committed'], 'the first event to name session 7 claims it')
  const second = await writeBatch(sql, [ev({ user_id: 3, session_id: 7, name: 'Later intruder' }), ev({ user_id: 1, session_id: 7 })])
  t.same(second.statuses, ['conflict', 'committed'], 'across batches too')
  t.same(await sql`select session_id::int, user_id::int from sessions order by 1`, [{ session_id: 7, user_id: 1 }, { session_id: 8, user_id: 2 }])
  t.same(await sql`select count(*)::int as n from ingest_rejects where code = 'INGEST_SESSION_CONFLICT'`, [{ n: 2 }], 'both conflicts kept in ingest_rejects')
  t.same(await sql`select user_id::int, name from users order by 1`, [{ user_id: 1, name: 'John Doe' }, { user_id: 2, name: 'Jane' }],
    'a rejected event leaves no trace: user 3 was never created and user 2 is not named Intruder')
  const [{ count }] = await sql`select count(*)::int from user_metrics` as unknown as [{ count: number }]
  t.equal(count, 3)
})

t.test('a batch of conflicts only writes nothing', async t => {
  await writeBatch(sql, [ev({ user_id: 1, session_id: 7 })])
  const result = await writeBatch(sql, [ev({ user_id: 2, session_id: 7 })])
  t.same(result, { statuses: ['conflict'], sqlstates: new Map(), committed: 0, duplicates: 0, conflicts: 1, rejected: 0 })
  t.same(await sql`select count(*)::int as n from users`, [{ n: 1 }])
})

t.test('the latest timestamp names the user, whatever order events arrive in', async t => {
  await writeBatch(sql, [
    ev({ user_id: 1, session_id: 1, timestamp: 1_700_000_200, name: 'Newest', email: 'new@example.com' }),
    ev({ user_id: 1, session_id: 1, timestamp: 1_700_000_100, name: 'Older', email: 'old@example.com' })
  ])
  t.same(await sql`select name, email from users`, [{ name: 'Newest', email: 'new@example.com' }], 'within a batch')
  await writeBatch(sql, [ev({ user_id: 1, session_id: 1, timestamp: 1_700_000_150, name: 'Late arrival' })])
  t.same(await sql`select name from users`, [{ name: 'Newest' }], 'an older event from a later batch does not win')
  await writeBatch(sql, [ev({ user_id: 1, session_id: 1, timestamp: 1_700_000_300, name: 'Renamed' })])
  t.same(await sql`select name from users`, [{ name: 'Renamed' }], 'a newer one does')
})

t.test('two users may share an email address', async t => {
  const result = await writeBatch(sql, [ev({ user_id: 1, session_id: 1 }), ev({ user_id: 2, session_id: 2 })])
  t.equal(result.committed, 2)
  t.same(await sql`select count(distinct email)::int as emails, count(*)::int as users from users`, [{ emails: 1, users: 2 }])
})

t.test('session details: a later report fills what is missing and never breaks end >= start', async t => {
  await writeBatch(sql, [ev({ session_id: 1, platform: 'android' })])
  await writeBatch(sql, [ev({ session_id: 1, platform: 'ios', device_id: 'pixel', start_time: 1_700_000_000 })])
  await writeBatch(sql, [ev({ session_id: 1, end_time: 1_600_000_000 })])
  await writeBatch(sql, [ev({ session_id: 1, end_time: 1_700_000_600, location: 'Berlin' })])
  const [row] = await sql`select device_id, platform, location, extract(epoch from start_time)::float8 as s,
    extract(epoch from end_time)::float8 as e from sessions`
  t.same(row, { device_id: 'pixel', platform: 'android', location: 'Berlin', s: 1_700_000_000, e: 1_700_000_600 })
})

t.test('mergeSessionDetails mirrors the SQL rule', async t => {
  const none = { device_id: null, platform: null, location: null, start_time: null, end_time: null }
  t.same(mergeSessionDetails({ ...none, start_time: 100 }, { ...none, end_time: 50 }), { ...none, start_time: 100 }, 'an end before the stored start is dropped')
  t.same(mergeSessionDetails({ ...none, end_time: 100 }, { ...none, start_time: 150 }), { ...none, end_time: 100 }, 'a start after the stored end is dropped')
  t.same(mergeSessionDetails({ ...none, end_time: 100 }, { ...none, start_time: 50 }), { ...none, start_time: 50, end_time: 100 })
  t.same(mergeSessionDetails(none, { ...none, start_time: 10, end_time: 20 }), { ...none, start_time: 10, end_time: 20 })
  t.same(mergeSessionDetails({ ...none, platform: 'a' }, { ...none, platform: 'b', location: 'c' }), { ...none, platform: 'a', location: 'c' })
})

t.test('sessionRows and userRows: one row per key, sorted so flushes lock in the same order', async t => {
  const events = [ev({ user_id: 9, session_id: 30, timestamp: 2e9 - 1 }), ev({ user_id: 2, session_id: 10 }), ev({ user_id: 9, session_id: 30, device_id: 'd' }), ev({ user_id: 5, session_id: 20 })]
  t.same(sessionRows(events).map(s => [s.session_id, s.user_id, s.device_id]), [[10, 2, null], [20, 5, null], [30, 9, 'd']])
  t.same(userRows(events).map(u => [u.user_id, u.timestamp]), [[2, 1622558400], [5, 1622558400], [9, 2e9 - 1]])
})

t.test('one statement text for every batch size: 5,000 rows, far past the 65,534-parameter limit of a VALUES insert', async t => {
  const big = Array.from({ length: 5_000 }, (_, i) => ev({ user_id: (i % 700) + 1, session_id: i + 1 }))
  const result = await writeBatch(sql, big)
  t.equal(result.committed, 5_000)
  const [{ n }] = await sql`select count(*)::int as n from user_metrics` as unknown as [{ n: number }]
  t.equal(n, 5_000)
})

t.test('concurrent flushes over the same users and sessions do not deadlock', async t => {
  const batch = (offset: number): MetricEvent[] =>
    Array.from({ length: 200 }, (_, i) => ev({ user_id: ((i * 7 + offset) % 20) + 1, session_id: ((i * 13 + offset) % 40) + 1, timestamp: 1_700_000_000 + i }))
  // Sessions are owned by whichever batch claims them first; only the totals are fixed.
  const results = await Promise.all([0, 1, 2, 3].map(offset => writeBatch(sql, batch(offset))))
  const committed = results.reduce((sum, r) => sum + r.committed, 0)
  const [{ n }] = await sql`select count(*)::int as n from user_metrics` as unknown as [{ n: number }]
  t.equal(n, committed, 'every committed status has its row')
  t.equal(results.reduce((sum, r) => sum + r.committed + r.conflicts, 0), 800)
})
