import t from 'tap'
import { LogThrottle } from '../src/log-throttle.js'

t.test('the first event of a run is logged, the rest fold into one line per interval', async t => {
  let now = 0
  const throttle = new LogThrottle(1_000, () => now)
  t.equal(throttle.take('flush failed'), 0, 'the first is logged at once, nothing folded')
  for (let i = 0; i < 5; i++) {
    now += 100
    t.equal(throttle.take('flush failed'), undefined, 'inside the interval: counted, not logged')
  }
  t.equal(throttle.take('buffer full'), 0, 'another kind has its own interval')
  now = 1_000
  t.equal(throttle.take('flush failed'), 5, 'the next line says how many were folded')
  now = 1_500
  t.equal(throttle.take('flush failed'), undefined)
  now = 5_000
  t.equal(throttle.take('flush failed'), 1)
})

t.test('the default clock is the wall clock', async t => {
  const throttle = new LogThrottle(60_000)
  t.equal(throttle.take('x'), 0)
  t.equal(throttle.take('x'), undefined)
})
