/**
 * The no-op route with a wait and nothing else: every answer waits for a pretend flush of HOLD_MS
 * milliseconds, the flushes back to back as the service's durable loop runs them — the requests
 * that arrive while one waits go in the next. No database, no writing. Loaded like the service
 * (100 connections, each sending its next request once answered), it says what a closed loop gives
 * when every answer waits that long: the latency bound under any durable writer whose flush takes
 * HOLD_MS here. bench/hold-curve.ts runs it beside the ceiling, the floor and the service.
 *
 *   HOST=127.0.0.1 PORT=8083 HOLD_MS=3 npx tsx bench/lib/run/hold-server.ts
 */
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { serverOptions } from '../../../src/app.js'
import { SuccessSchema } from '../../../src/http/responses.js'
import { EventSchema } from '../../../src/ingest/schema.js'

const holdMs = Number(process.env.HOLD_MS ?? 3)
if (!Number.isFinite(holdMs) || holdMs < 0 || holdMs > 60_000) {
  console.error(`HOLD_MS must be milliseconds from 0 to 60000: got ${JSON.stringify(process.env.HOLD_MS)}`)
  process.exit(2)
}

/** The answers waiting for the next pretend flush. */
let waiting: Array<() => void> = []
let flushing = false

async function flushBackToBack (): Promise<void> {
  while (waiting.length > 0) {
    const batch = waiting
    waiting = []
    await sleep(holdMs)
    for (const answer of batch) answer()
  }
  flushing = false
}

const app = Fastify({ ...serverOptions, logger: false }).withTypeProvider<TypeBoxTypeProvider>()

app.post('/data', {
  schema: { body: EventSchema, response: { 200: SuccessSchema } }
}, async () => {
  await new Promise<void>(resolve => {
    waiting.push(resolve)
    // As the service's ring does: requests read in the same pass share the flush. It never
    // rejects: it only waits and answers.
    if (!flushing) {
      flushing = true
      setImmediate(() => { flushBackToBack().catch(() => {}) })
    }
  })
  return { status: 'success' } as const
})

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
}

await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 8083) })
