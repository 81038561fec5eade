/**
 * Converting a wall-clock receipt (another process's Date.now()) to this process's monotonic clock
 * and back (src/clock.ts): the stream writer's receipt-to-commit latency and the receipt time kept
 * with a refused event. The wall clock can be stepped while a process runs (NTP, a virtual
 * machine's clock set after a pause): the step must not follow every later conversion, as it would
 * through performance.timeOrigin, which fixes the two clocks' offset at start-up. A step of the
 * machine's clock is out of a test's reach, so Date.now is moved for this process alone.
 */
import t from 'tap'
import { wallClockOffset, wallToMonotonic } from '../src/clock.js'

// Date.now() counts whole milliseconds and the two clocks are read a moment apart.
const SLACK_MS = 2

t.test('a wall-clock receipt lands on the monotonic clock by its age', async t => {
  const age = 30
  const got = wallToMonotonic(Date.now() - age)
  t.ok(Math.abs(got - (performance.now() - age)) <= SLACK_MS, `30 ms ago on the wall clock is 30 ms ago here: off by ${(got - performance.now() + age).toFixed(2)} ms`)
  const offset = wallClockOffset()
  t.ok(Math.abs(offset + performance.now() - Date.now()) <= SLACK_MS, 'the offset maps the monotonic clock onto the wall clock')
  t.ok(Math.abs(offset + wallToMonotonic(Date.now() - age) - (Date.now() - age)) <= SLACK_MS, 'and takes a receipt back to its wall-clock time')
})

t.test('a wall-clock step after start-up does not follow the conversions', async t => {
  const realNow = Date.now
  const step = 45_000
  t.teardown(() => { Date.now = realNow })
  Date.now = () => realNow() + step
  // A receipt stamped 30 ms ago by a process reading the stepped clock, as the publisher would.
  const stamped = Date.now() - 30
  const got = wallToMonotonic(stamped)
  t.ok(Math.abs(got - (performance.now() - 30)) <= SLACK_MS, `still 30 ms old: off by ${(got - performance.now() + 30).toFixed(2)} ms`)
  const throughTimeOrigin = stamped - performance.timeOrigin
  t.ok(throughTimeOrigin - performance.now() > step / 2, 'the offset fixed at start-up would have put it 45 s in the future: a negative latency')
  t.ok(Math.abs(wallClockOffset() + got - stamped) <= SLACK_MS, 'and back on the stepped wall clock, its stamp')
})
