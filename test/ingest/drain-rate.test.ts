import t from 'tap'
import { DrainRate } from '../../src/ingest/drain-rate.js'

t.test('events per second over the window, forgetting what fell out of it', async t => {
  let now = 0
  const rate = new DrainRate(5_000, () => now)
  t.equal(rate.perSecond(), 0, 'nothing written yet')
  rate.record(5_000)
  now = 1_000
  rate.record(5_000)
  t.equal(rate.perSecond(), 2_000, '10,000 events in a 5 s window')
  now = 5_500
  t.equal(rate.perSecond(), 1_000, 'the first sample fell out')
  now = 20_000
  t.equal(rate.perSecond(), 0, 'all forgotten after a quiet spell')
})

t.test('Retry-After: depth over rate, between floor and ceiling; the floor when the rate is unknown', async t => {
  let now = 0
  const rate = new DrainRate(1_000, () => now)
  t.equal(rate.retryAfter(50_000, 1), 1, 'unknown rate: the floor')
  rate.record(10_000)
  now = 500
  t.equal(rate.retryAfter(50_000, 1), 5, '50,000 held at 10,000/s: 5 s')
  t.equal(rate.retryAfter(10, 2), 2, 'never below the floor')
  t.equal(rate.retryAfter(10_000_000, 1), 60, 'never above a minute')
  t.equal(rate.retryAfter(10_000_000, 1, 30), 30)
  t.equal(new DrainRate().retryAfter(1, 3), 3, 'the default clock')
})
