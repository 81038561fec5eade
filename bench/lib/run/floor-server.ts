/**
 * The least a durable single-event route can do on this schema — the floor under the service's
 * cost, as the ceiling server is the roof over it. The same Fastify, event schema and ajv options
 * as the service; then one queue, flushed back to back over one connection, each flush one plain
 * INSERT into user_metrics (the service's own, src/ingest/writer.ts) whose 200s go out once it has
 * committed. Sessions and users it has not seen are inserted first (ON CONFLICT DO NOTHING).
 * Nothing else: no row cache but a set of session ids, no lanes, retries, metrics, logging, 409s
 * or duplicate answers.
 *
 * A measuring stick, not a service: a session claimed by two users, a retried event_id or a
 * database that goes away answer 503 (or store the wrong owner) where the service answers
 * exactly. The bench's traffic never does any of that. Its /metrics carries the three gauges
 * the bench's drain reads, so its windows are checked for loss like the service's.
 *
 *   DATABASE_URL=postgres://… HOST=127.0.0.1 PORT=8082 npx tsx bench/lib/run/floor-server.ts
 */
import Fastify from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import pino from 'pino'
import { serverOptions } from '../../../src/app.js'
import { numberArray, textArray } from '../../../src/database/array-literal.js'
import { connect } from '../../../src/database/client.js'
import { ErrorCode, errorBody } from '../../../src/errors.js'
import { ErrorSchema, SuccessSchema } from '../../../src/http/responses.js'
import type { MetricEvent } from '../../../src/ingest/schema.js'
import { EventSchema } from '../../../src/ingest/schema.js'
import { insertMetrics } from '../../../src/ingest/writer.js'

interface Waiting {
  event: MetricEvent
  answer: (committed: boolean) => void
}

const MAX_ROWS = 1000
const url = process.env.DATABASE_URL
if (url === undefined) throw new Error('DATABASE_URL is required')
const sql = connect(url, { max: 1, log: pino({ level: 'silent' }) })
const seenSessions = new Set<number>()
let queue: Waiting[] = []
let writing = 0
let received = 0
let flushing = false

async function insertNew (events: readonly MetricEvent[]): Promise<void> {
  const fresh = events.filter(e => !seenSessions.has(e.session_id))
  if (fresh.length === 0) return
  await sql`insert into users (user_id, name, email, profile_at)
    select u, n, e, to_timestamp(t)
    from unnest(${numberArray(fresh.map(e => e.user_id))}::int8[], ${textArray(fresh.map(e => e.name))}::text[],
      ${textArray(fresh.map(e => e.email))}::text[], ${numberArray(fresh.map(e => e.timestamp))}::float8[]) as input(u, n, e, t)
    on conflict (user_id) do nothing`
  await sql`insert into sessions (session_id, user_id)
    select s, u from unnest(${numberArray(fresh.map(e => e.session_id))}::int8[], ${numberArray(fresh.map(e => e.user_id))}::int8[]) as input(s, u)
    on conflict (session_id) do nothing`
  for (const e of fresh) seenSessions.add(e.session_id)
}

/** Everything queued, a flush at a time, until the queue is empty. */
async function flush (): Promise<void> {
  while (queue.length > 0) {
    const batch = queue.slice(0, MAX_ROWS)
    queue = queue.slice(batch.length)
    writing = batch.length
    let committed = true
    try {
      const events = batch.map(w => w.event)
      await insertNew(events)
      // The service's own statement, in its steady-state form: a plain INSERT.
      await insertMetrics(sql, events, events.map(e => e.event_id?.toLowerCase() ?? null), { skipStored: false })
    } catch {
      committed = false
    }
    writing = 0
    for (const waiting of batch) waiting.answer(committed)
  }
  flushing = false
}

const app = Fastify({ ...serverOptions, logger: false }).withTypeProvider<TypeBoxTypeProvider>()

app.post('/data', {
  schema: { body: EventSchema, response: { 200: SuccessSchema, 503: ErrorSchema } }
}, async (request, reply) => {
  received++
  const committed = await new Promise<boolean>(resolve => {
    queue.push({ event: request.body, answer: resolve })
    // As the service's ring does: requests read in the same pass share the flush.
    if (!flushing) {
      flushing = true
      // flush() never rejects: a failed write answers 503.
      setImmediate(() => { flush().catch(() => {}) })
    }
  })
  if (!committed) return await reply.code(503).header('retry-after', '1').send(errorBody(503, ErrorCode.databaseUnavailable, 'the flush holding this event failed: not stored'))
  return { status: 'success' } as const
})

// What bench/lib/measure/drain.ts reads.
app.get('/metrics', async (_request, reply) => await reply.type('text/plain').send(
  `ingest_buffer_events ${queue.length}\ningest_flushes_in_flight ${writing > 0 ? 1 : 0}\ningest_events_received_total ${received}\n`))

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    app.close().then(async () => await sql.end()).then(() => process.exit(0), () => process.exit(1))
  })
}

await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 8082) })
