import t from 'tap'
import { MAX_TALKED_TIME_SECONDS, MIN_TIMESTAMP_SECONDS } from '../../src/ingest/schema.js'
import { buildTestApp, event } from '../helpers/app.js'
import { testDatabase } from '../helpers/database.js'

const db = await testDatabase(t)
const { app, logs } = await buildTestApp(t, db.url)

const long = 'x'.repeat(256)
const now = Math.floor(Date.now() / 1000)
const REQUIRED = ['user_id', 'name', 'email', 'session_id', 'talked_time', 'microphone_used', 'speaker_used', 'voice_sentiment', 'timestamp']

interface Case { name: string, body: unknown, path: string, message?: RegExp }

const cases: Case[] = [
  ...REQUIRED.map(field => {
    const body = event()
    delete body[field]
    return { name: `missing ${field}`, body, path: `/${field}`, message: /is required/ }
  }),
  { name: 'user_id zero', body: event({ user_id: 0 }), path: '/user_id', message: />= 1/ },
  { name: 'user_id negative', body: event({ user_id: -5 }), path: '/user_id' },
  { name: 'user_id fractional', body: event({ user_id: 1.5 }), path: '/user_id', message: /integer/ },
  { name: 'user_id as a string', body: event({ user_id: '1' }), path: '/user_id', message: /integer/ },
  { name: 'user_id beyond safe integers', body: event({ user_id: 2 ** 53 }), path: '/user_id' },
  { name: 'session_id zero', body: event({ session_id: 0 }), path: '/session_id' },
  { name: 'session_id null', body: event({ session_id: null }), path: '/session_id' },
  { name: 'name empty', body: event({ name: '' }), path: '/name', message: /fewer than 1/ },
  { name: 'name too long', body: event({ name: long }), path: '/name', message: /more than 255/ },
  { name: 'name with NUL', body: event({ name: 'a\u0000b' }), path: '/name', message: /NUL/ },
  { name: 'name not a string', body: event({ name: 42 }), path: '/name', message: /string/ },
  { name: 'email invalid', body: event({ email: 'not-an-email' }), path: '/email', message: /valid email/ },
  { name: 'email too long', body: event({ email: `${long}@example.com` }), path: '/email' },
  { name: 'talked_time negative', body: event({ talked_time: -1 }), path: '/talked_time', message: />= 0/ },
  { name: 'talked_time above a day', body: event({ talked_time: MAX_TALKED_TIME_SECONDS + 1 }), path: '/talked_time' },
  { name: 'talked_time as a string', body: event({ talked_time: '120' }), path: '/talked_time', message: /number/ },
  { name: 'microphone_used as a string', body: event({ microphone_used: 'true' }), path: '/microphone_used', message: /boolean/ },
  { name: 'speaker_used as a number', body: event({ speaker_used: 1 }), path: '/speaker_used', message: /boolean/ },
  { name: 'voice_sentiment unknown', body: event({ voice_sentiment: 'happy' }), path: '/voice_sentiment', message: /positive, neutral, negative/ },
  { name: 'timestamp before 2000', body: event({ timestamp: MIN_TIMESTAMP_SECONDS - 1 }), path: '/timestamp' },
  { name: 'timestamp two days ahead', body: event({ timestamp: now + 2 * 86_400 }), path: '/timestamp', message: /future/ },
  { name: 'timestamp as a date string', body: event({ timestamp: '2021-06-01' }), path: '/timestamp' },
  { name: 'device_id too long', body: event({ device_id: long }), path: '/device_id' },
  { name: 'platform with NUL', body: event({ platform: '\u0000' }), path: '/platform', message: /NUL/ },
  { name: 'location not a string', body: event({ location: 5 }), path: '/location' },
  { name: 'start_time before 2000', body: event({ start_time: 1 }), path: '/start_time' },
  { name: 'end_time before start_time', body: event({ start_time: 1_700_000_100, end_time: 1_700_000_000 }), path: '/end_time', message: /before start_time/ },
  { name: 'start_time in the far future', body: event({ start_time: now + 3 * 86_400 }), path: '/start_time', message: /future/ },
  { name: 'an unknown field', body: event({ extra: 1 }), path: '/extra', message: /not a known field/ },
  { name: 'a __proto__ key', body: '{"__proto__": {"x": 1}, "user_id": 1}', path: '/' },
  { name: 'an array instead of an object', body: [event()], path: '/', message: /object/ }
]

for (const c of cases) {
  t.test(`400 for ${c.name}`, async t => {
    const res = await app.inject({ method: 'POST', url: '/data', headers: { 'content-type': 'application/json' }, payload: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) })
    t.equal(res.statusCode, 400, res.body)
    const body = res.json()
    t.equal(body.status, 'error')
    t.equal(body.statusCode, 400)
    t.type(body.code, 'string')
    t.type(body.message, 'string')
    if (c.path !== '/' || Array.isArray(body.details)) {
      t.ok(Array.isArray(body.details), 'details list the fields')
      const detail = (body.details as Array<{ path: string, message: string }>).find(d => d.path === c.path)
      t.ok(detail, `names ${c.path}: ${JSON.stringify(body.details)}`)
      if (c.message !== undefined) t.match(detail?.message, c.message)
    }
  })
}

t.test('every invalid field is named in one answer', async t => {
  const res = await app.inject({
    method: 'POST',
    url: '/data',
    payload: { user_id: 'x', name: '', email: 'nope', talked_time: -1, microphone_used: 'yes', voice_sentiment: 'meh', timestamp: 1, bogus: true }
  })
  t.equal(res.statusCode, 400)
  const paths = (res.json().details as Array<{ path: string }>).map(d => d.path).sort()
  t.same(paths, ['/bogus', '/email', '/microphone_used', '/name', '/session_id', '/speaker_used', '/talked_time', '/timestamp', '/user_id', '/voice_sentiment'])
  t.match(res.json().message, /\/user_id must be integer/)
})

t.test('malformed JSON is a 400, not a 500', async t => {
  const res = await app.inject({ method: 'POST', url: '/data', headers: { 'content-type': 'application/json' }, payload: '{"user_id": 1,' })
  t.equal(res.statusCode, 400)
  t.equal(res.json().status, 'error')
  t.match(res.json().code, /FST_ERR_CTP_INVALID_JSON_BODY|INVALID/)
})

t.test('an empty body is a 400', async t => {
  const res = await app.inject({ method: 'POST', url: '/data', headers: { 'content-type': 'application/json' }, payload: '' })
  t.equal(res.statusCode, 400)
})

t.test('a body that is not JSON is a 415', async t => {
  const res = await app.inject({ method: 'POST', url: '/data', headers: { 'content-type': 'text/plain' }, payload: 'hello' })
  t.equal(res.statusCode, 415)
  t.equal(res.json().status, 'error')
})

t.test('an unknown route is a 404 in the same shape', async t => {
  const res = await app.inject({ method: 'GET', url: '/nope' })
  t.equal(res.statusCode, 404)
  t.match(res.json(), { status: 'error', statusCode: 404, code: 'INGEST_NOT_FOUND' })
})

t.test('nothing invalid was stored and nothing was logged as an error', async t => {
  t.same(await db.sql`select count(*)::int as n from user_metrics`, [{ n: 0 }])
  t.same(await db.sql`select count(*)::int as n from users`, [{ n: 0 }])
  t.same(logs.filter(l => l.level >= 50), [], 'no error lines')
  const scrape = await app.inject({ method: 'GET', url: '/metrics' })
  t.match(scrape.body, /ingest_events_rejected_total\{reason="validation"\} \d+/, 'validation rejections are counted')
})
