import t from 'tap'
import { isRetryable, parseRetryAfter, retryDelay } from '../../src/client/retry.js'
import { uuidv7 } from '../../src/client/uuid.js'

t.test('what is retried: 408, 429 and every 5xx; no other 4xx', async t => {
  t.same([408, 429, 500, 502, 503, 504].map(isRetryable), [true, true, true, true, true, true])
  t.same([200, 202, 400, 401, 409, 413, 415, 422].map(isRetryable), [false, false, false, false, false, false, false, false])
})

t.test('full jitter below a doubling, capped ceiling; never before Retry-After', async t => {
  const options = { baseMs: 100, maxMs: 1_000 }
  t.equal(retryDelay(1, undefined, options, () => 0.999999), 99.9999, 'attempt 1: up to base')
  t.equal(retryDelay(3, undefined, options, () => 0.5), 200, 'attempt 3: half of 400')
  t.equal(retryDelay(20, undefined, options, () => 1), 1_000, 'capped')
  t.equal(retryDelay(1, 5, options, () => 0.5), 5_000, 'Retry-After: 5 s wins over a 50 ms pause')
  t.equal(retryDelay(1, 0, options, () => 0), 0)
})

t.test('Retry-After as seconds or as an HTTP date', async t => {
  t.equal(parseRetryAfter('3'), 3)
  t.equal(parseRetryAfter(null), undefined)
  t.equal(parseRetryAfter('soon'), undefined)
  const now = Date.parse('2026-12-02T10:00:00Z')
  t.equal(parseRetryAfter('Wed, 02 Dec 2026 10:00:07 GMT', now), 7)
  t.equal(parseRetryAfter('Wed, 02 Dec 2026 09:00:00 GMT', now), 0, 'a date in the past: at once')
})

t.test('UUIDv7: version 7, RFC variant, time-ordered', async t => {
  const at = Date.parse('2026-12-02T10:00:00Z')
  const id = uuidv7(at)
  t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), at, 'the first 48 bits are the milliseconds')
  t.ok(uuidv7(at) < uuidv7(at + 1), 'a later millisecond sorts after')
  t.equal(new Set(Array.from({ length: 10_000 }, () => uuidv7(at))).size, 10_000, 'random bits keep ids of one millisecond apart')
})
