/**
 * Slow and idle clients against a really listening server (src/server.ts in a child process):
 * a slow body, slowloris headers and an idle keep-alive connection are each closed by their
 * deadline with a clear answer where one can be given, a connection past MAX_CONNECTIONS is
 * dropped, and each is counted by reason.
 */
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { metricTotal, scrapeMetrics } from '../../harness/prometheus-text.js'
import { testDatabase } from '../helpers/database.js'
import { startServer } from '../helpers/server-process.js'

const db = await testDatabase(t)
const LIMITS = { REQUEST_TIMEOUT_MS: '2000', HEADERS_TIMEOUT_MS: '1000', KEEP_ALIVE_TIMEOUT_MS: '1500', MAX_CONNECTIONS: '40' }
const server = await startServer({ DATABASE_URL: db.url, ...LIMITS })
t.teardown(() => { server.child.kill('SIGKILL') })
const { hostname, port } = new URL(server.address)

interface Closed { afterMs: number, received: string }

/** Opens a socket and resolves when the server closes it: how long it lasted and what it said. */
async function open (): Promise<{ socket: Socket, closed: Promise<Closed> }> {
  const socket = connect(Number(port), hostname)
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve).once('error', reject) })
  const opened = performance.now()
  let received = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => { received += chunk })
  socket.on('error', () => {})
  const closed = new Promise<Closed>(resolve => { socket.once('close', () => { resolve({ afterMs: performance.now() - opened, received }) }) })
  return { socket, closed }
}

/** Writes `text` a character at a time, one every `everyMs`, until the socket closes. */
function trickle (socket: Socket, text: string, everyMs: number): void {
  let i = 0
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) { clearInterval(timer); return }
    socket.write(text[i++]!)
  }, everyMs)
  socket.once('close', () => { clearInterval(timer) })
}

const closedBy = async (reason: string): Promise<number> =>
  (await scrapeMetrics(server.address)).get(`ingest_http_connections_closed_total{reason="${reason}"}`) ?? 0

t.test('a body that trickles in is cut at REQUEST_TIMEOUT_MS with 408', async t => {
  const { socket, closed } = await open()
  socket.write('POST /data HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n')
  trickle(socket, '{"user_id": 1, '.repeat(1000), 200)
  const { afterMs, received } = await closed
  t.ok(afterMs >= 1_900 && afterMs < 5_000, `closed after ${Math.round(afterMs)} ms (deadline 2,000 ms, checked every second)`)
  t.match(received, /^HTTP\/1\.1 408 Request Timeout\r\n/, 'answered 408')
  t.match(received, /"code":"INGEST_REQUEST_TIMEOUT"/, 'with our error body and code')
  t.ok(await closedBy('request_timeout') >= 1, 'counted as request_timeout')
})

t.test('headers that trickle in (slowloris) are cut at HEADERS_TIMEOUT_MS with 408', async t => {
  const { socket, closed } = await open()
  trickle(socket, 'POST /data HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200), 100)
  const { afterMs, received } = await closed
  t.ok(afterMs >= 900 && afterMs < 3_500, `closed after ${Math.round(afterMs)} ms (deadline 1,000 ms)`)
  t.match(received, /^HTTP\/1\.1 408 /, 'answered 408')
})

t.test('an idle keep-alive connection is closed after KEEP_ALIVE_TIMEOUT_MS', async t => {
  const { socket, closed } = await open()
  socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
  const { afterMs, received } = await closed
  t.match(received, /^HTTP\/1\.1 200 /, 'the request was answered')
  t.ok(afterMs >= 1_400 && afterMs < 4_000, `then, idle, closed after ${Math.round(afterMs)} ms (keep-alive 1,500 ms; Node allows a second more)`)
})

t.test('connections past MAX_CONNECTIONS are dropped on arrival; the service still serves', async t => {
  const before = await closedBy('max_connections')
  const crowd = await Promise.all(Array.from({ length: 30 }, async () => await open()))
  // The scrape is one more connection: 31 of the 40 allowed.
  const gauge = metricTotal(await scrapeMetrics(server.address), 'ingest_http_connections') ?? 0
  t.ok(gauge >= 30 && gauge <= 40, `ingest_http_connections counts the open connections (${gauge})`)
  const more = await Promise.all(Array.from({ length: 20 }, async () => await open()))
  await sleep(300)
  const dropped = [...crowd, ...more].filter(({ socket }) => socket.destroyed || socket.readyState === 'closed').length
  t.ok(dropped >= 10, `${dropped} of 50 dropped at the cap of 40`)
  for (const { socket } of [...crowd, ...more]) socket.destroy()
  await sleep(300)
  const answer = await fetch(`${server.address}/healthz`)
  t.equal(answer.status, 200, 'a new client is served once the crowd has gone')
  t.ok(await closedBy('max_connections') - before >= 10, 'counted as max_connections')
})

t.test('a malformed request is answered 400 and closed, never a 5xx', async t => {
  const { socket, closed } = await open()
  socket.write('THIS IS NOT HTTP\r\n\r\n')
  const { received } = await closed
  t.match(received, /^HTTP\/1\.1 400 /, `answered 400: ${JSON.stringify(received)}`)
  t.match(received, /"code":"INGEST_BAD_REQUEST"/)
})

t.test('headers past Node\'s 16 KiB limit are answered 431 and closed', async t => {
  const before = await closedBy('header_overflow')
  const { socket, closed } = await open()
  socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
  const { received } = await closed
  t.match(received, /^HTTP\/1\.1 431 /, 'answered 431')
  t.match(received, /"code":"INGEST_HEADERS_TOO_LARGE"/)
  t.equal(await closedBy('header_overflow') - before, 1, 'counted as header_overflow')
})
