/**
 * The bench's floor server (bench/lib/run/floor-server.ts) is a measuring stick: the paired
 * scenario compares the service with it, and checks its windows for loss like the service's. So it
 * must answer 200 only for events it has committed, store each as the service would (its session
 * and user too), refuse what the schema refuses, answer 503 when a flush fails, and expose the
 * gauges the bench's drain reads. A real server process on a real PostgreSQL.
 */
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { freePort } from '../../harness/free-port.js'
import { metricTotal, scrapeMetrics } from '../../harness/prometheus-text.js'
import { ServiceProcess } from '../../harness/service-process.js'
import { PartitionInterval } from '../../src/config.js'
import { ensurePartitions } from '../../src/storage/partitions.js'
import { event } from '../helpers/app.js'
import { testDatabase } from '../helpers/database.js'

const FLOOR_ENTRY = fileURLToPath(new URL('../../bench/lib/run/floor-server.ts', import.meta.url))

t.test('the floor server commits before it answers 200, and only then', async t => {
  const db = await testDatabase(t)
  await ensurePartitions(db.sql, PartitionInterval.day, [Date.now() - 600_000, Date.now()])
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const server = new ServiceProcess({ entry: FLOOR_ENTRY, env: { HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: db.url }, onLine: () => {} })
  t.teardown(async () => { await server.stop('SIGTERM', 10_000) })
  await server.waitUntilServing(port, async () => await fetch(`${url}/metrics`).then(r => r.ok, () => false), 60_000)
  const post = async (body: unknown): Promise<Response> => await fetch(`${url}/data`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const now = Date.now() / 1000

  // 200 concurrent requests on 20 users and 40 sessions none of which is stored yet.
  const events = Array.from({ length: 200 }, (_, i) => event({
    event_id: randomUUID(),
    user_id: 1 + i % 20,
    session_id: 1000 + (i % 20) * 2 + (i % 40 < 20 ? 0 : 1),
    name: `User ${1 + i % 20}`,
    email: `user${1 + i % 20}@example.com`,
    timestamp: now - i
  }))
  const answers = await Promise.all(events.map(post))
  t.same(answers.map(r => r.status), events.map(() => 200), 'every event answered 200')
  t.same(await answers[0]!.json(), { status: 'success' })
  const stored = await db.sql<Array<{ event_id: string, session_id: string, talked_time: number, timestamp: number }>>`
    select event_id, session_id, extract(epoch from talked_time)::float8 as talked_time, extract(epoch from "timestamp")::float8 as "timestamp" from user_metrics`
  t.equal(stored.length, 200, 'each answered event is a row')
  const byId = new Map(stored.map(row => [row.event_id, row]))
  for (const e of events) {
    const row = byId.get(e.event_id as string)
    if (row === undefined) { t.fail(`${String(e.event_id)} missing`); continue }
    if (Number(row.session_id) !== e.session_id || Math.abs(row.timestamp - (e.timestamp as number)) > 1e-3 || row.talked_time !== e.talked_time) t.fail(`${String(e.event_id)} stored as ${JSON.stringify(row)}`)
  }
  t.same((await db.sql`select count(*)::int as n from sessions`)[0]!.n, 40, 'the sessions were inserted before their metrics')
  t.same((await db.sql`select count(*)::int as n from users`)[0]!.n, 20, 'and the users')

  const drained = await scrapeMetrics(url)
  t.equal(metricTotal(drained, 'ingest_buffer_events'), 0, 'the drain gauges: nothing buffered')
  t.equal(metricTotal(drained, 'ingest_flushes_in_flight'), 0, 'nothing being written')
  t.equal(metricTotal(drained, 'ingest_events_received_total'), 200, 'every request counted')

  const invalid = await post(event({ event_id: randomUUID(), talked_time: -1, timestamp: now }))
  t.equal(invalid.status, 400, 'the event schema refuses what the service refuses')
  t.match(await invalid.json(), { message: /talked_time/ }, 'naming the field (in Fastify\'s own error body: the floor has no error handler)')

  // A retried event_id fails its flush's plain insert: 503, and nothing of that flush is stored.
  const retry = await post(events[0])
  t.equal(retry.status, 503, 'an event_id stored before: 503, not a 200 for a row it did not write')
  t.equal(retry.headers.get('retry-after'), '1')
  t.equal((await db.sql`select count(*)::int as n from user_metrics`)[0]!.n, 200, 'still 200 rows')

  const stop = await server.stop('SIGTERM', 10_000)
  t.equal(stop.code, 0, 'SIGTERM: closes and exits 0')
})
