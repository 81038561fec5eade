/**
 * ACK_MODE=stream against a real nats-server with JetStream and a real PostgreSQL: what the door
 * answers, what the stream holds, and what the writer does with it. Process-level faults (a
 * writer or ingest process killed, PostgreSQL stopped, a cluster node lost) are in the fault suite.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import t from 'tap'
import { NatsCluster } from '../../harness/nats-process.js'
import { parsePrometheusText } from '../../harness/prometheus-text.js'
import { loadConfig } from '../../src/config.js'
import { streamConfig, subjectOf } from '../../src/stream/connection.js'
import { buildTestApp, event } from '../helpers/app.js'
import { POISON_SECONDS, refusePoison, testDatabase, truncate } from '../helpers/database.js'

const db = await testDatabase(t)
const { sql } = db
const nats = await NatsCluster.start()
t.teardown(async () => { await nats.close() })

let streamNumber = 0
/** Each test its own stream, so one test's messages never reach another's writer. */
function streamEnv (extra: Record<string, string> = {}): Record<string, string> {
  streamNumber++
  return { ACK_MODE: 'stream', NATS_URL: nats.url, STREAM_NAME: `TEST${streamNumber}`, LOG_LEVEL: 'warn', ...extra }
}

t.beforeEach(async () => { await truncate(sql) })

const storedCount = async (): Promise<number> => {
  const [row] = await sql<Array<{ n: number }>>`select count(*)::int as n from user_metrics`
  return row!.n
}

async function waitFor (what: string, predicate: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await predicate()) return
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  throw new Error(`timed out waiting for ${what}`)
}

async function metric (app: { metrics: { registry: { metrics: () => Promise<string> } } }, name: string, labels: Record<string, string> = {}): Promise<number> {
  let sum = 0
  for (const [key, value] of parsePrometheusText(await app.metrics.registry.metrics())) {
    if (key !== name && !key.startsWith(`${name}{`)) continue
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) sum += value
  }
  return sum
}

async function streamMessages (name: string, cluster = nats): Promise<number> {
  return await cluster.streamMessages(name)
}

t.test('202 once the stream holds the event; the writer commits it; an event without an id gets one at the door', async t => {
  const { app } = await buildTestApp(t, db.url, streamEnv())
  const res = await app.inject({ method: 'POST', url: '/data', payload: event({ session_id: 7 }) })
  t.equal(res.statusCode, 202)
  t.same(res.json(), { status: 'accepted' })
  await waitFor('the event to be written', async () => await storedCount() === 1)
  const [row] = await sql<Array<{ event_id: string | null }>>`select event_id::text from user_metrics`
  t.match(row!.event_id, /^[0-9a-f-]{36}$/, 'an event_id was assigned at the door')
  t.equal(await metric(app, 'ingest_stream_messages_settled_total', { settlement: 'ack' }), 1, 'its message acked after COMMIT')
  t.equal(await metric(app, 'ingest_stream_publish_duration_seconds_count', { outcome: 'stored' }), 1)
})

t.test('a batch is one message, written in one transaction; a retried request is stored once', async t => {
  const env = streamEnv({ ROLE: 'ingest' })
  const ingest = await buildTestApp(t, db.url, env)
  const batch = Array.from({ length: 50 }, (_, i) => event({ session_id: 100 + i, event_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` }))
  for (let attempt = 0; attempt < 2; attempt++) {
    const res = await ingest.app.inject({ method: 'POST', url: '/data/batch', payload: batch })
    t.equal(res.statusCode, 202, `attempt ${attempt + 1}: 202`)
    t.same(res.json(), { status: 'accepted', accepted: 50, duplicates: 0, rejected: [] })
  }
  t.equal(await streamMessages(env.STREAM_NAME!), 1, 'the stream holds one message: the retry fell in the duplicate window')
  t.equal(await metric(ingest.app, 'ingest_stream_publish_duration_seconds_count', { outcome: 'duplicate' }), 1)
  const ready = await ingest.app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200, 'an ingest process is ready without any database')
  t.same(ready.json().checks, { nats: 'ok', stream: 'ok', shutdown: 'ok' })

  const writer = await buildTestApp(t, db.url, { ...env, ROLE: 'writer' })
  await writer.app.ready()
  await waitFor('the batch to be written', async () => await storedCount() === 50)
  t.equal(await metric(writer.app, 'ingest_flush_rows_sum'), 50)
  t.equal(await metric(writer.app, 'ingest_flushes_total'), 1, 'one flush: one transaction for the batch')
  t.equal((await writer.app.inject({ method: 'POST', url: '/data', payload: event() })).statusCode, 404, 'a writer takes no requests')
  t.same((await writer.app.inject({ method: 'GET', url: '/readyz' })).json().checks, { database: 'ok', nats: 'ok', shutdown: 'ok' })
  await waitFor('the stream to be empty', async () => await streamMessages(env.STREAM_NAME!) === 0)
})

t.test('a batch of 5,000 events (1.3 MB) is one message and is stored whole', async t => {
  const { app } = await buildTestApp(t, db.url, streamEnv())
  const batch = Array.from({ length: 5_000 }, (_, i) => event({ session_id: 10_000 + i, name: 'A name long enough to make the message large' }))
  const res = await app.inject({ method: 'POST', url: '/data/batch', payload: batch })
  t.equal(res.statusCode, 202)
  await waitFor('the batch to be written', async () => await storedCount() === 5_000)
  t.equal(await metric(app, 'ingest_flushes_total'), 1, 'in one transaction')
})

t.test('a request larger than the NATS server\'s max_payload is a 413, not an endless 503', async t => {
  const small = await NatsCluster.start({ maxPayload: '64KB' })
  t.teardown(async () => { await small.close() })
  const env = streamEnv({ ROLE: 'ingest' })
  env.NATS_URL = small.url
  const { app, logs } = await buildTestApp(t, db.url, env)
  t.ok(logs.some(l => l.msg.startsWith('the NATS server\'s max_payload is below')), 'start-up warns that the server takes less than a request may be')
  const batch = Array.from({ length: 500 }, (_, i) => event({ session_id: 20_000 + i }))
  const res = await app.inject({ method: 'POST', url: '/data/batch', payload: batch })
  t.equal(res.statusCode, 413)
  t.equal(res.json().code, 'INGEST_BATCH_TOO_LARGE')
  t.match(res.json().message, /at most 65536 \(max_payload\): send fewer events per request/)
  t.equal(await small.streamMessages(env.STREAM_NAME!), 0, 'nothing published')
  t.equal((await app.inject({ method: 'POST', url: '/data', payload: event() })).statusCode, 202, 'a small request still goes through')
})

t.test('a message over the stream\'s own max_msg_size is a 413 too', async t => {
  const env = streamEnv({ ROLE: 'ingest' })
  const { app } = await buildTestApp(t, db.url, env)
  // An operator shrank the stream's message limit behind the service's back.
  const nc = await connect({ servers: nats.url.split(',') })
  t.teardown(async () => { await nc.close() })
  const jsm = await jetstreamManager(nc)
  await jsm.streams.update(env.STREAM_NAME!, { max_msg_size: 1_000 })
  const res = await app.inject({ method: 'POST', url: '/data/batch', payload: Array.from({ length: 10 }, (_, i) => event({ session_id: 30_000 + i })) })
  t.equal(res.statusCode, 413)
  t.match(res.json(), { code: 'INGEST_BATCH_TOO_LARGE', message: /message size exceeds maximum allowed: send fewer events per request/ })
  t.equal((await app.inject({ method: 'POST', url: '/data', payload: event() })).statusCode, 202, 'one event still fits')
})

t.test('start-up creates the stream and consumer as configured, and brings an existing stream to the configured limits', async t => {
  const env = streamEnv({ ROLE: 'ingest', STREAM_MAX_MESSAGES: '1234', STREAM_DUPLICATE_WINDOW_SECONDS: '60' })
  const nc = await connect({ servers: nats.url.split(',') })
  t.teardown(async () => { await nc.close() })
  const jsm = await jetstreamManager(nc)
  // An older deployment's stream: other limits, same retention and storage.
  await jsm.streams.add({ ...streamConfig(loadConfig(env)), max_msgs: 5, max_bytes: 1_000_000 })
  await buildTestApp(t, db.url, env)
  const info = await jsm.streams.info(env.STREAM_NAME!)
  t.match(info.config, {
    subjects: [subjectOf(env.STREAM_NAME!)],
    retention: 'workqueue',
    storage: 'file',
    discard: 'new',
    max_msgs: 1234,
    max_bytes: 1_073_741_824,
    duplicate_window: 60_000_000_000
  })
  const consumer = await jsm.consumers.info(env.STREAM_NAME!, 'writers')
  t.match(consumer.config, { durable_name: 'writers', ack_policy: 'explicit', ack_wait: 30_000_000_000 })
  // A second process with the same configuration changes nothing and starts.
  await buildTestApp(t, db.url, env)
  t.equal((await jsm.streams.info(env.STREAM_NAME!)).config.max_msgs, 1234)
})

t.test('a full stream answers 503 + Retry-After, acknowledges nothing, and readiness says so first', async t => {
  const env = streamEnv({ ROLE: 'ingest', STREAM_MAX_MESSAGES: '4', STREAM_HIGH_WATER: '0.5', RETRY_AFTER_SECONDS: '3' })
  const { app } = await buildTestApp(t, db.url, env)
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) {
    const res = await app.inject({ method: 'POST', url: '/data', payload: event({ session_id: 200 + i }) })
    statuses.push(res.statusCode)
    if (res.statusCode === 503) {
      t.equal(res.headers['retry-after'], '3')
      t.equal(res.json().code, 'INGEST_STREAM_FULL')
    }
  }
  t.same(statuses, [202, 202, 202, 202, 503, 503])
  t.equal(await streamMessages(env.STREAM_NAME!), 4, 'discard-new: the four acknowledged messages are all still there')
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 503)
  t.match(ready.json().checks, { nats: 'ok', stream: /4 messages .* at or above 50 %/ })
  t.equal(await metric(app, 'ingest_events_rejected_total', { reason: 'stream_full' }), 2)

  // A writer drains it; what was acknowledged is stored.
  await (await buildTestApp(t, db.url, { ...env, ROLE: 'writer' })).app.ready()
  await waitFor('the four events to be written', async () => await storedCount() === 4)
})

t.test('NATS out of reach: 503 at once, readiness red; back: 202 again', async t => {
  const own = await NatsCluster.start()
  t.teardown(async () => { await own.close() })
  const env = streamEnv({ ROLE: 'ingest', PUBLISH_TIMEOUT_MS: '1000' })
  env.NATS_URL = own.url
  const { app } = await buildTestApp(t, db.url, env)
  t.equal((await app.inject({ method: 'POST', url: '/data', payload: event() })).statusCode, 202)
  await own.kill(0)
  await waitFor('the client to notice', async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 503)
  const started = Date.now()
  const res = await app.inject({ method: 'POST', url: '/data', payload: event({ session_id: 2 }) })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'INGEST_STREAM_UNAVAILABLE')
  t.ok(res.headers['retry-after'], 'with Retry-After')
  t.ok(Date.now() - started < 1_000, 'refused without waiting out the publish timeout')
  t.match((await app.inject({ method: 'GET', url: '/readyz' })).json().checks, { nats: /not connected|no answer/ })
  await own.restart(0)
  await waitFor('202 again', async () => (await app.inject({ method: 'POST', url: '/data', payload: event({ session_id: 3 }) })).statusCode === 202)
  t.equal(await streamMessages(env.STREAM_NAME!, own), 2, 'the event before the outage and the one after it, nothing in between')
})

t.test('the writer: a conflict and a poison event go to ingest_rejects and are acked; an unreadable message is logged and removed', async t => {
  const env = streamEnv()
  const { app, logs } = await buildTestApp(t, db.url, env)
  const first = await app.inject({ method: 'POST', url: '/data', payload: event({ user_id: 1, session_id: 50 }) })
  t.equal(first.statusCode, 202)
  await waitFor('the first event', async () => await storedCount() === 1)
  const conflict = await app.inject({ method: 'POST', url: '/data', payload: event({ user_id: 2, session_id: 50 }) })
  t.equal(conflict.statusCode, 202, 'the door cannot know: 202')
  await refusePoison(t, sql, 'refuse_stream_poison')
  const poison = await app.inject({ method: 'POST', url: '/data', payload: event({ session_id: 51, talked_time: POISON_SECONDS }) })
  t.equal(poison.statusCode, 202)

  const nc = await connect({ servers: nats.url.split(',') })
  await jetstream(nc).publish(subjectOf(env.STREAM_NAME!), '{"not":"a request"}')
  await nc.close()

  await waitFor('both refusals kept', async () => {
    const [row] = await sql<Array<{ n: number }>>`select count(*)::int as n from ingest_rejects`
    return row!.n === 2
  })
  const rejects = await sql<Array<{ code: string }>>`select code from ingest_rejects order by code`
  t.same(rejects.map(r => r.code), ['INGEST_REJECTED_BY_DATABASE', 'INGEST_SESSION_CONFLICT'])
  await waitFor('the unreadable message removed', async () => await metric(app, 'ingest_stream_messages_settled_total', { settlement: 'unreadable' }) === 1)
  await waitFor('all readable messages acked', async () => await metric(app, 'ingest_stream_messages_settled_total', { settlement: 'ack' }) === 3)
  await waitFor('the stream to be empty', async () => await streamMessages(env.STREAM_NAME!) === 0)
  t.equal(await storedCount(), 1)
  t.match(logs.find(l => l.msg === 'unreadable stream message removed'), { data: '{"not":"a request"}', problem: /\// }, 'the log keeps what it was')
})

t.test('a flush longer than the ack wait reports progress: written once, never redelivered', async t => {
  const env = streamEnv({ WRITER_ACK_WAIT_SECONDS: '5' })
  const { app } = await buildTestApp(t, db.url, env)
  // Hold the table for 8 s, past the 5 s ack wait: the flush waits on the lock.
  const locked = sql.begin(async tx => {
    await tx`lock table user_metrics in access exclusive mode`
    await new Promise(resolve => setTimeout(resolve, 8_000))
  })
  await new Promise(resolve => setTimeout(resolve, 200))
  t.equal((await app.inject({ method: 'POST', url: '/data', payload: event({ session_id: 60 }) })).statusCode, 202)
  await locked
  await waitFor('the event to be written', async () => await storedCount() === 1)
  await new Promise(resolve => setTimeout(resolve, 1_000))
  t.equal(await metric(app, 'ingest_stream_redeliveries_total'), 0, 'no redelivery while the flush waited')
  t.equal(await metric(app, 'ingest_events_duplicate_total'), 0)
  t.equal(await metric(app, 'ingest_stream_messages_settled_total', { settlement: 'ack' }), 1)
})
