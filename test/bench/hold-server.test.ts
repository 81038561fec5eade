/**
 * The bench's hold server (bench/lib/run/hold-server.ts) is a measuring stick: bench/hold-curve.ts
 * reads the closed loop's latency bound off it. So it must hold every answer at least HOLD_MS, run
 * its pretend flushes back to back (a request arriving while one waits goes in the next, as in the
 * service's durable loop), answer what the no-op route answers, and refuse a HOLD_MS it cannot keep.
 * A real server process, loaded over HTTP.
 */
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { freePort } from '../../harness/free-port.js'
import { ServiceProcess } from '../../harness/service-process.js'
import { event } from '../helpers/app.js'

const HOLD_ENTRY = fileURLToPath(new URL('../../bench/lib/run/hold-server.ts', import.meta.url))
const HOLD_MS = 150
// Node's timers never fire early by more than the event loop's cached millisecond.
const SLACK_MS = 2

async function start (t: Test, holdMs: string): Promise<{ server: ServiceProcess, url: string, port: number, lines: string[] }> {
  const port = await freePort()
  const lines: string[] = []
  const server = new ServiceProcess({ entry: HOLD_ENTRY, env: { HOST: '127.0.0.1', PORT: String(port), HOLD_MS: holdMs }, onLine: line => { lines.push(line) } })
  t.teardown(async () => { await server.stop('SIGTERM', 10_000) })
  return { server, url: `http://127.0.0.1:${port}`, port, lines }
}

t.test('each answer waits its pretend flush; the flushes run back to back', async t => {
  const { server, url, port } = await start(t, String(HOLD_MS))
  await server.waitUntilServing(port, async () => await fetch(url).then(() => true, () => false), 60_000)
  const post = async (body: unknown): Promise<{ status: number, body: unknown, sentAt: number, answeredAt: number }> => {
    const sentAt = performance.now()
    const response = await fetch(`${url}/data`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return { status: response.status, body: await response.json(), sentAt, answeredAt: performance.now() }
  }

  // A alone starts a flush; B and C arrive while it waits, so they share the next one, which starts
  // only when A's ends.
  const a = post(event())
  await sleep(HOLD_MS / 3)
  const b = post(event())
  await sleep(HOLD_MS / 3)
  const c = post(event())
  const [first, ...next] = await Promise.all([a, b, c])
  for (const answer of [first!, ...next]) {
    t.equal(answer.status, 200)
    t.same(answer.body, { status: 'success' })
  }
  const heldA = first!.answeredAt - first!.sentAt
  t.ok(heldA >= HOLD_MS - SLACK_MS && heldA < 2 * HOLD_MS, `A held one flush: ${Math.round(heldA)} ms`)
  // A's flush began no earlier than A was sent, so one that starts when it ends answers no earlier
  // than two holds after A was sent; sharing A's flush, or one beside it, would answer sooner.
  for (const [name, answer] of [['B', next[0]!], ['C', next[1]!]] as const) {
    const sinceA = answer.answeredAt - first!.sentAt
    t.ok(sinceA >= 2 * HOLD_MS - SLACK_MS, `${name}, sent while A's flush waited, waited for a flush of its own after A's (answered ${Math.round(sinceA)} ms after A was sent)`)
  }
  const apart = Math.abs(next[0]!.answeredAt - next[1]!.answeredAt)
  t.ok(apart < HOLD_MS / 3, `B and C shared that flush (answered ${Math.round(apart)} ms apart)`)

  const invalid = await fetch(`${url}/data`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event({ talked_time: 'x' })) })
  t.equal(invalid.status, 400, 'the event schema refuses what the service refuses, at once')
  t.match(await invalid.json(), { message: /talked_time/ })

  t.equal((await server.stop('SIGTERM', 10_000)).code, 0, 'SIGTERM: closes and exits 0')
})

t.test('a HOLD_MS it cannot keep: exits 2, saying why', async t => {
  await Promise.all(['-1', 'soon', '60001'].map(async bad => {
    const { server, lines } = await start(t, bad)
    const exit = await server.exited
    t.equal(exit.code, 2, `HOLD_MS=${bad}`)
    t.match(lines.join('\n'), /HOLD_MS must be milliseconds from 0 to 60000/, 'and says what it takes')
  }))
})
