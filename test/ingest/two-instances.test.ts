/**
 * Two service processes on one database, each with its own row cache: what one remembers may be
 * stale for the other, and neither may ever store a wrong row. Two real apps, one real PostgreSQL.
 */
import t from 'tap'
import { buildTestApp, event } from '../helpers/app.js'
import { testDatabase, truncate } from '../helpers/database.js'

const db = await testDatabase(t)
const { sql } = db
const a = await buildTestApp(t, db.url)
const b = await buildTestApp(t, db.url)

t.beforeEach(async () => { await truncate(sql) })

const post = async (app: typeof a.app, overrides: Record<string, unknown>) =>
  await app.inject({ method: 'POST', url: '/data', payload: event(overrides) })

t.test('a session is claimed once across both instances; every other user gets an exact 409', async t => {
  t.equal((await post(a.app, { user_id: 1, session_id: 10 })).statusCode, 200, 'A claims session 10 for user 1')
  const refused = await post(b.app, { user_id: 2, session_id: 10 })
  t.equal(refused.statusCode, 409, 'B, which has never seen session 10, still refuses user 2')
  t.match(refused.json(), { code: 'INGEST_SESSION_CONFLICT' })
  t.equal((await post(b.app, { user_id: 1, session_id: 10 })).statusCode, 200, 'the owner posts through B')
  t.equal((await post(a.app, { user_id: 2, session_id: 10 })).statusCode, 409, 'A, which remembers the owner, refuses too')

  // Interleaved and concurrent: 8 sessions, 4 users each trying to claim every one, through both.
  const requests = []
  for (let round = 0; round < 3; round++) {
    for (let session = 100; session < 108; session++) {
      for (let user = 1; user <= 4; user++) {
        requests.push(post((session + user + round) % 2 === 0 ? a.app : b.app, { user_id: user, session_id: session, timestamp: 1622558400 + round }))
      }
    }
  }
  const answers = await Promise.all(requests)
  const owners = await sql<Array<{ session_id: string, user_id: string }>>`select session_id, user_id from sessions where session_id >= 100`
  t.equal(owners.length, 8, 'every session has one owner')
  const ownerOf = new Map(owners.map(o => [Number(o.session_id), Number(o.user_id)]))
  let expected200 = 0
  for (const [i, answer] of answers.entries()) {
    const body = JSON.parse(answer.body) as { code?: string }
    const session = 100 + Math.floor(i / 4) % 8
    const user = i % 4 + 1
    if (ownerOf.get(session) === user) {
      expected200++
      t.equal(answer.statusCode, 200, `user ${user} owns session ${session}`)
    } else {
      t.equal(answer.statusCode, 409, `user ${user} does not own session ${session}`)
      t.equal(body.code, 'INGEST_SESSION_CONFLICT')
    }
  }
  const [{ stored }] = await sql<[{ stored: number }]>`select count(*)::int as stored from user_metrics m join sessions s using (session_id) where s.session_id >= 100`
  t.equal(stored, expected200, 'a row for every 200, none for a 409')
  const [{ rejects }] = await sql<[{ rejects: number }]>`select count(*)::int as rejects from ingest_rejects where code = 'INGEST_SESSION_CONFLICT' and (event->>'session_id')::int >= 100`
  t.equal(rejects, answers.length - expected200, 'every 409 is kept in ingest_rejects')
})

t.test('the same user updated through both, timestamps out of order: the latest event names them', async t => {
  const name = async (): Promise<string> => (await sql<[{ name: string }]>`select name from users where user_id = 50`)[0].name
  t.equal((await post(a.app, { user_id: 50, session_id: 500, timestamp: 1622558100, name: 'at 100 via A' })).statusCode, 200)
  t.equal((await post(b.app, { user_id: 50, session_id: 501, timestamp: 1622558300, name: 'at 300 via B' })).statusCode, 200)
  t.equal((await post(a.app, { user_id: 50, session_id: 500, timestamp: 1622558200, name: 'at 200 via A' })).statusCode, 200)
  t.equal(await name(), 'at 300 via B', 'A remembered 100, so it tried to write 200; the database kept the later 300')
  t.equal((await post(b.app, { user_id: 50, session_id: 501, timestamp: 1622558250, name: 'at 250 via B' })).statusCode, 200)
  t.equal(await name(), 'at 300 via B', 'B knows 300 is stored: an older event changes nothing')
  t.equal((await post(a.app, { user_id: 50, session_id: 500, timestamp: 1622558400, name: 'at 400 via A' })).statusCode, 200)
  t.equal(await name(), 'at 400 via A')

  // Concurrent, shuffled timestamps through both: the highest one's name is stored.
  const stamps = Array.from({ length: 40 }, (_, i) => 1622560000 + ((i * 17) % 40))
  await Promise.all(stamps.map((ts, i) => post(i % 2 === 0 ? a.app : b.app, {
    user_id: 51, session_id: 510 + (i % 2), timestamp: ts, name: `at ${ts}`, email: `at${ts}@example.com`
  })))
  const [user] = await sql<[{ name: string, email: string, at: number }]>`select name, email, extract(epoch from profile_at)::float8 as at from users where user_id = 51`
  const latest = Math.max(...stamps)
  t.same(user, { name: `at ${latest}`, email: `at${latest}@example.com`, at: latest }, 'name, email and profile_at of the latest event')
})

t.test('a session deleted behind the cache is written again, not rejected', async t => {
  t.equal((await post(a.app, { user_id: 7, session_id: 70, event_id: '00000000-0000-4000-8000-000000000001' })).statusCode, 200)
  t.equal((await post(a.app, { user_id: 7, session_id: 70, timestamp: 1622558401 })).statusCode, 200, 'now remembered as stored')
  await sql`delete from user_metrics where session_id = 70`
  await sql`delete from sessions where session_id = 70`
  await sql`delete from users where user_id = 7`

  const again = await post(a.app, { user_id: 7, session_id: 70, timestamp: 1622558402, name: 'Back Again' })
  t.equal(again.statusCode, 200, 'stored, not a 422 poison reject')
  const [row] = await sql<[{ owner: string, name: string, metrics: number }]>`
    select s.user_id as owner, u.name, (select count(*)::int from user_metrics where session_id = 70) as metrics
    from sessions s join users u using (user_id) where s.session_id = 70`
  t.same(row, { owner: '7', name: 'Back Again', metrics: 1 }, 'session, user and metric re-created')
  const [{ rejects }] = await sql<[{ rejects: number }]>`select count(*)::int as rejects from ingest_rejects`
  t.equal(rejects, 0, 'nothing kept as a reject')
  t.equal((await post(a.app, { user_id: 7, session_id: 70, timestamp: 1622558403 })).statusCode, 200, 'and remembered again')
  const scrape = (await a.app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(scrape, /ingest_row_cache_lookups_total\{table="sessions",result="hit"\} [1-9]/, 'the cache is hit and counted')
})
