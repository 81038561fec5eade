import t from 'tap'
import { buildTestApp, event } from '../helpers/app.js'
import { testDatabase } from '../helpers/database.js'

const db = await testDatabase(t)
const { app, logs } = await buildTestApp(t, db.url, { BODY_LIMIT_BYTES: String(1024 * 1024) })
const json = { 'content-type': 'application/json' }

const cases: Array<{ name: string, url?: string, headers?: Record<string, string>, payload: string | Buffer, status: number }> = [
  { name: 'deep nesting', payload: '['.repeat(100_000) + ']'.repeat(100_000), status: 400 },
  { name: 'deep nesting inside a field', payload: JSON.stringify({ ...event(), name: undefined }).replace('}', ',"name":' + '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000) + '}'), status: 400 },
  { name: 'a __proto__ key', payload: '{"__proto__": {"isAdmin": true}}', status: 400 },
  { name: 'a constructor.prototype key', payload: '{"constructor": {"prototype": {"x": 1}}}', status: 400 },
  { name: 'a huge number', payload: JSON.stringify(event()).replace('"talked_time":120', '"talked_time":1e400'), status: 400 },
  { name: 'a huge integer id', payload: JSON.stringify(event()).replace('"user_id":1', '"user_id":123456789012345678901234567890'), status: 400 },
  { name: 'a NaN-like string', payload: JSON.stringify(event({ talked_time: 'NaN' })), status: 400 },
  { name: 'Infinity as a bare word', payload: JSON.stringify(event()).replace('"talked_time":120', '"talked_time":Infinity'), status: 400 },
  { name: 'invalid UTF-8', payload: Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]), status: 400 },
  { name: 'an escaped NUL', payload: JSON.stringify(event({ name: 'a\u0000b' })), status: 400 },
  { name: 'a 10 MB string', payload: JSON.stringify(event({ name: 'x'.repeat(10 * 1024 * 1024) })), status: 413 },
  { name: 'an array where the event belongs', payload: '[1,2,3]', status: 400 },
  { name: 'a string where the event belongs', payload: '"hello"', status: 400 },
  { name: 'null', payload: 'null', status: 400 },
  { name: 'an object where a batch belongs', url: '/data/batch', payload: JSON.stringify(event()), status: 400 },
  { name: 'events nested in a batch item', url: '/data/batch', payload: JSON.stringify([[event()]]), status: 400 },
  { name: 'no content type', headers: {}, payload: JSON.stringify(event()), status: 415 },
  { name: 'form encoding', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'user_id=1', status: 415 },
  { name: 'multipart', headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--', status: 415 }
]

for (const c of cases) {
  t.test(`${c.name}: ${c.status}`, async t => {
    const res = await app.inject({ method: 'POST', url: c.url ?? '/data', headers: c.headers ?? json, payload: c.payload })
    t.equal(res.statusCode, c.status, res.body.slice(0, 200))
    t.equal(res.json().status, 'error', 'our error shape')
  })
}

t.test('nothing stored, nothing crashed, nothing logged as an error', async t => {
  t.same(await db.sql`select count(*)::int as n from user_metrics`, [{ n: 0 }])
  t.same(logs.filter(l => l.level >= 50), [])
  t.equal((await app.inject({ method: 'POST', url: '/data', payload: event() })).statusCode, 200, 'still serving')
})
