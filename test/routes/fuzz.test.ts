/**
 * Property-based: generated and mutated bodies thrown at a really listening server.
 * Whatever arrives, the answer is never a 5xx, the server stays up, an event answered 2xx is
 * stored exactly once and one answered 4xx is not stored at all.
 *
 * FUZZ_RUNS raises the case count (default 2,000) for longer runs; FUZZ_SEED replays one.
 */
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import t from 'tap'
import { MAX_TALKED_TIME_SECONDS, MIN_TIMESTAMP_SECONDS } from '../../src/ingest/schema.js'
import { buildTestApp } from '../helpers/app.js'
import { testDatabase } from '../helpers/database.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 2_000)
const db = await testDatabase(t)
// Timestamps span 2000 to now: month partitions (~320) rather than a day's for nearly every
// event, each made on demand — this test is about the door, test/storage about partitions.
const { app, logs } = await buildTestApp(t, db.url, { LOG_LEVEL: 'warn', BODY_LIMIT_BYTES: String(256 * 1024), PARTITION_INTERVAL: 'month' })
const address = await app.listen({ port: 0, host: '127.0.0.1' })
const NOW = Math.floor(Date.now() / 1000)

const text = (max: number) => fc.string({ unit: 'grapheme', minLength: 1, maxLength: max }).filter(s => !s.includes('\u0000'))
const validEvent = fc.record({
  event_id: fc.uuid(),
  user_id: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  name: text(255),
  email: fc.tuple(fc.stringMatching(/^[a-z0-9._-]{1,30}$/), fc.constantFrom('example.com', 'mail.example.org')).map(([local, domain]) => `${local.replace(/^[.]+|[.]+$/g, 'x').replace(/\.{2,}/g, '.')}@${domain}`),
  session_id: fc.constant(0),
  talked_time: fc.double({ min: 0, max: MAX_TALKED_TIME_SECONDS, noNaN: true }),
  microphone_used: fc.boolean(),
  speaker_used: fc.boolean(),
  voice_sentiment: fc.constantFrom('positive', 'neutral', 'negative'),
  timestamp: fc.double({ min: MIN_TIMESTAMP_SECONDS, max: NOW, noNaN: true }),
  device_id: fc.option(text(255), { nil: undefined }),
  platform: fc.option(text(40), { nil: undefined }),
  location: fc.option(text(40), { nil: undefined })
}, { requiredKeys: ['event_id', 'user_id', 'name', 'email', 'session_id', 'talked_time', 'microphone_used', 'speaker_used', 'voice_sentiment', 'timestamp'] })
  // A session always belongs to the user of the same number, so a valid event never meets a 409.
  .map(e => JSON.parse(JSON.stringify({ ...e, session_id: e.user_id })) as Record<string, unknown>)

const FIELDS = ['user_id', 'name', 'email', 'session_id', 'talked_time', 'microphone_used', 'speaker_used', 'voice_sentiment', 'timestamp'] as const
// Each of these is wrong for every required field (a value right for one field, such as `true`
// or `1.5`, would make a "broken" event valid).
const badValue = fc.constantFrom(null, '', -1, [], {}, '\u0000', 2 ** 60, 'x'.repeat(300), { nested: { deep: [1, 2, 3] } })

/** A change that makes any event invalid. */
const breakEvent = fc.oneof(
  fc.constantFrom(...FIELDS).map(field => (e: Record<string, unknown>) => { delete e[field] }),
  fc.tuple(fc.constantFrom(...FIELDS), badValue).map(([field, value]) => (e: Record<string, unknown>) => { e[field] = value }),
  fc.string({ minLength: 1, maxLength: 20 }).filter(k => !(k in EMPTY_EVENT_KEYS) && k !== '__proto__').map(key => (e: Record<string, unknown>) => { e[key] = 1 }),
  fc.constant((e: Record<string, unknown>) => { e.end_time = NOW - 100; e.start_time = NOW })
)
const EMPTY_EVENT_KEYS: Record<string, true> = Object.fromEntries(['event_id', ...FIELDS, 'device_id', 'platform', 'location', 'start_time', 'end_time'].map(k => [k, true]))

interface Case { kind: 'valid' | 'invalid' | 'noise', path: '/data' | '/data/batch', body: Buffer, contentType: string, gzip: boolean, events: number }

const encode = (value: unknown): Buffer => Buffer.from(JSON.stringify(value))
const singleValid = validEvent.map(e => ({ kind: 'valid', path: '/data', body: encode(e), events: 1 }) as const)
const singleInvalid = fc.tuple(validEvent, breakEvent).map(([e, change]) => { change(e); return { kind: 'invalid', path: '/data', body: encode(e), events: 1 } as const })
const batchValid = fc.array(validEvent, { minLength: 1, maxLength: 20 }).map(es => ({ kind: 'valid', path: '/data/batch', body: encode(es), events: es.length }) as const)
const batchInvalid = fc.tuple(fc.array(validEvent, { minLength: 1, maxLength: 20 }), breakEvent, fc.nat())
  .map(([es, change, at]) => { change(es[at % es.length]!); return { kind: 'invalid', path: '/data/batch', body: encode(es), events: es.length } as const })
const noise = fc.oneof(
  fc.jsonValue().map(v => Buffer.from(JSON.stringify(v))),
  fc.string({ unit: 'binary', maxLength: 200 }).map(s => Buffer.from(s)),
  fc.uint8Array({ maxLength: 200 }).map(bytes => Buffer.from(bytes)),
  fc.tuple(validEvent, fc.nat()).map(([e, cut]) => { const s = JSON.stringify(e); return Buffer.from(s.slice(0, cut % s.length)) })
).chain(body => fc.constantFrom('/data', '/data/batch').map(path => ({ kind: 'noise', path, body, events: 0 }) as const))

const cases: fc.Arbitrary<Case> = fc.tuple(
  fc.oneof({ weight: 3, arbitrary: singleValid }, { weight: 3, arbitrary: singleInvalid }, { weight: 2, arbitrary: batchValid }, { weight: 2, arbitrary: batchInvalid }, { weight: 2, arbitrary: noise }),
  fc.boolean(),
  fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/x-ndjson')
).map(([c, gzip, contentType]) => {
  // NDJSON only for arrays of events: the same events, one per line.
  if (contentType === 'application/x-ndjson' && c.path === '/data/batch' && c.kind !== 'noise') {
    const items = JSON.parse(c.body.toString()) as unknown[]
    return { ...c, gzip, contentType, body: Buffer.from(items.map(i => JSON.stringify(i)).join('\n')) }
  }
  return { ...c, gzip, contentType: contentType === 'application/x-ndjson' ? 'application/json' : contentType }
})

// The count after every case spans ~300 month partitions, and past ~200 PostgreSQL plans it with
// two parallel workers whose start costs ~80 ms a query here against ~4 ms in one backend: 2,000
// of them took the file past its 180 s timeout (CI, 2026-12-02). So each count runs in one backend,
// set for its own transaction.
const stored = async (): Promise<number> => {
  const [, rows] = await db.sql.begin(sql => [
    sql`set local max_parallel_workers_per_gather = 0`,
    sql<Array<{ n: number }>>`select count(*)::int as n from user_metrics`
  ])
  return rows[0]!.n
}

t.test(`${RUNS} generated and mutated bodies: no 5xx, 2xx stored once, 4xx stored never`, async t => {
  const statuses = new Map<number, number>()
  let before = await stored()
  await fc.assert(fc.asyncProperty(cases, async c => {
    const res = await fetch(`${address}${c.path}`, {
      method: 'POST',
      headers: { 'content-type': c.contentType, ...(c.gzip ? { 'content-encoding': 'gzip' } : {}) },
      body: c.gzip ? gzipSync(c.body) : c.body
    })
    const answer = await res.text()
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
    const after = await stored()
    const added = after - before
    before = after
    if (res.status >= 500) throw new Error(`5xx: ${res.status} ${answer}`)
    if (c.kind === 'valid' && res.status !== 200) throw new Error(`valid ${c.path} answered ${res.status}: ${answer}`)
    if (c.kind === 'invalid' && (res.status < 400 || res.status >= 500)) throw new Error(`invalid ${c.path} answered ${res.status}: ${answer}`)
    if (res.status === 200) {
      const body = JSON.parse(answer) as { accepted?: number, duplicate?: boolean, duplicates?: number }
      const expected = c.path === '/data' ? (body.duplicate === true ? 0 : 1) : body.accepted
      if (added !== expected) throw new Error(`200 on ${c.path} added ${added} rows, expected ${expected}`)
      if (c.path === '/data/batch' && (body.accepted ?? 0) + (body.duplicates ?? 0) > c.events) throw new Error('more accepted than sent')
    } else if (added !== 0) {
      throw new Error(`${res.status} on ${c.path} still added ${added} rows`)
    }
  }), { numRuns: RUNS, ...(process.env.FUZZ_SEED !== undefined ? { seed: Number(process.env.FUZZ_SEED) } : {}) })
  t.pass(`answers: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`)
  t.notOk([...statuses.keys()].some(s => s >= 500), 'no 5xx at all')
  t.ok((statuses.get(200) ?? 0) > RUNS / 5 && (statuses.get(400) ?? 0) > RUNS / 5, 'both valid and invalid bodies were exercised')
  const health = await fetch(`${address}/healthz`)
  t.equal(health.status, 200, 'the server is still up')
  t.same(logs.filter(l => l.level >= 50), [], 'nothing logged as an error')
})
