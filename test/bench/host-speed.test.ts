/**
 * The host-speed probe around each window (bench/lib/measure/host-speed.ts): a rate of real work,
 * and a ratio of two scenarios that says so when the host ran one window much faster than the other.
 */
import t from 'tap'
import { formatHostSpeed, probeHostSpeed, windowSpeed } from '../../bench/lib/measure/host-speed.js'
import { compare } from '../../bench/lib/report/ratios.js'
import type { ScenarioResult } from '../../bench/lib/scenario.js'

function result (name: string, requestsPerSecond: number, before: number, after: number): ScenarioResult {
  return { name, description: name, config: {}, seconds: 10, notes: [], requestsPerSecond, hostSpeed: { before, after } }
}

t.test('the probe hashes for the time asked and gives MiB a second', async t => {
  const started = performance.now()
  const speed = probeHostSpeed(50)
  const took = performance.now() - started
  t.ok(took >= 50 && took < 1_000, `ran ~50 ms (${took.toFixed(0)} ms)`)
  // SHA-256 runs at hundreds to thousands of MiB/s on any machine this runs on; 0 or Infinity would be a broken clock or loop.
  t.ok(speed > 10 && speed < 100_000, `a plausible rate (${speed.toFixed(0)} MiB/s)`)
  t.equal(windowSpeed({ before: 1_000, after: 1_400 }), 1_200, 'a window: the mean of its two probes')
  t.equal(formatHostSpeed({ before: 1_600.4, after: 1_234.6 }), "host speed (SHA-256 on the bench's thread, MiB/s): 1,600 before the window, 1,235 after")
})

t.test('a ratio names the host when its windows ran at speeds far apart, and only then', async t => {
  const name = 'single-durable ÷ ceiling-http (req/s)'
  const drifted = compare([result('ceiling-http', 27_000, 1_800, 1_800), result('single-durable', 9_000, 1_000, 1_000)]).find(c => c.name === name)
  t.equal(drifted?.value, 1 / 3)
  t.match(drifted?.detail, /^9,000 ÷ 27,000 req\/s; the host ran single-durable's window at 0\.56× the speed of ceiling-http's \(SHA-256 probes\)/)
  const steady = compare([result('ceiling-http', 15_000, 1_600, 1_500), result('single-durable', 9_000, 1_550, 1_600)]).find(c => c.name === name)
  t.equal(steady?.detail, '9,000 ÷ 15,000 req/s', 'within 15 %: the figures alone')
  const unprobed = compare([{ ...result('ceiling-http', 15_000, 1, 1), hostSpeed: undefined }, result('single-durable', 9_000, 1_000, 1_000)]).find(c => c.name === name)
  t.equal(unprobed?.detail, '9,000 ÷ 15,000 req/s', 'a window without probes: nothing to say')
})
