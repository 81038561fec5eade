import t from 'tap'
import { buildTestApp, event } from '../helpers/app.js'
import { testDatabase } from '../helpers/database.js'

const db = await testDatabase(t)
const count = async (): Promise<number> => (await db.sql<Array<{ n: number }>>`select count(*)::int as n from user_metrics`)[0]!.n

t.test('with INGEST_API_KEYS set, ingest routes need a bearer key', async t => {
  const { app, logs } = await buildTestApp(t, db.url, { INGEST_API_KEYS: 'key-one,key-two' })
  t.notOk(logs.some(l => /INGEST_API_KEYS is unset/.test(l.msg)), 'no warning when keys are set')
  for (const [name, headers] of [
    ['no Authorization header', {}],
    ['a wrong key', { authorization: 'Bearer key-three' }],
    ['a key of another scheme', { authorization: 'Basic a2V5LW9uZQ==' }]
  ] as const) {
    const res = await app.inject({ method: 'POST', url: '/data', headers, payload: event() })
    t.equal(res.statusCode, 401, name)
    t.match(res.json(), { status: 'error', statusCode: 401, code: 'INGEST_UNAUTHORIZED' }, name)
  }
  const batch = await app.inject({ method: 'POST', url: '/data/batch', payload: [event()] })
  t.equal(batch.statusCode, 401, 'the batch route too')
  const unparsed = await app.inject({ method: 'POST', url: '/data', headers: { 'content-type': 'application/json' }, payload: '{not json' })
  t.equal(unparsed.statusCode, 401, 'refused before the body is parsed: a broken body still gets 401, not 400')
  t.equal(await count(), 0, 'nothing stored')

  const ok = await app.inject({ method: 'POST', url: '/data', headers: { authorization: 'Bearer key-two' }, payload: event() })
  t.equal(ok.statusCode, 200, 'either key works')
  t.equal(await count(), 1)

  for (const url of ['/healthz', '/metrics']) {
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, `${url} is not behind ingest keys`)
  }
  const scrape = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(scrape, /ingest_events_rejected_total\{reason="auth"\} 5/, 'refusals counted as auth')
  t.notMatch(JSON.stringify(logs), /key-one|key-two|key-three/, 'keys never reach the log')
})

t.test('without keys the routes are open, with a warning at start-up', async t => {
  const { app, logs } = await buildTestApp(t, db.url)
  t.ok(logs.some(l => l.level === 40 && /INGEST_API_KEYS is unset/.test(l.msg)), 'warned')
  const res = await app.inject({ method: 'POST', url: '/data', payload: event({ session_id: 2 }) })
  t.equal(res.statusCode, 200)
})

t.test('RATE_LIMIT_PER_MINUTE: 429 + Retry-After past the limit, counted per key', async t => {
  const { app } = await buildTestApp(t, db.url, { INGEST_API_KEYS: 'alpha,beta', RATE_LIMIT_PER_MINUTE: '2' })
  const post = async (key: string, session: number) => await app.inject({ method: 'POST', url: '/data', headers: { authorization: `Bearer ${key}` }, payload: event({ session_id: session }) })
  t.equal((await post('alpha', 10)).statusCode, 200)
  t.equal((await post('alpha', 11)).statusCode, 200)
  const limited = await post('alpha', 12)
  t.equal(limited.statusCode, 429)
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After in seconds')
  t.match(limited.json(), { status: 'error', statusCode: 429, code: 'INGEST_RATE_LIMITED' })
  t.equal((await post('beta', 13)).statusCode, 200, 'another key has its own budget')
  const scrape = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(scrape, /ingest_events_rejected_total\{reason="rate_limited"\} 1/)
})
