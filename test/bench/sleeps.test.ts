/**
 * bench/lib/measure/sleeps.ts on real processes: a child that sleeps on a timer over and over is
 * counted going to sleep, one that spins is not, and a process that is gone counts nothing.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { sleepsOf } from '../../bench/lib/measure/sleeps.js'

async function child (t: Test, code: string): Promise<number> {
  const process = spawn(globalThis.process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { process.kill('SIGKILL') })
  await once(process.stdout!, 'data')
  return process.pid!
}

t.test('a sleeping process is counted, a spinning one is not', async t => {
  // Each waits for a timer 200 times a second; the other never yields its core.
  const sleeper = await child(t, "setInterval(() => {}, 5); console.log('up')")
  const spinner = await child(t, "console.log('up'); for (;;) {}")
  const before = { sleeper: sleepsOf(sleeper), spinner: sleepsOf(spinner) }
  await sleep(500)
  const slept = sleepsOf(sleeper) - before.sleeper
  const spun = sleepsOf(spinner) - before.spinner
  t.ok(slept >= 50, `the sleeper slept ${slept} times in 0.5 s of 5-ms timers`)
  t.ok(spun < slept / 5, `the spinner slept ${spun} times (its idle helper threads only)`)
})

t.test('a process that is gone counts nothing', async t => {
  const gone = spawn(process.execPath, ['-e', '0'])
  await once(gone, 'exit')
  t.equal(sleepsOf(gone.pid!), 0)
})
