/**
 * The ceiling of any single-event route on this machine: the same Fastify, the same body schema
 * and ajv options as the service, a handler that does nothing. Run as a child process by the
 * ceiling-http scenario, so it is loaded and measured exactly like dist/server.js.
 *
 *   HOST=127.0.0.1 PORT=8081 npx tsx bench/lib/run/ceiling-server.ts
 */
import Fastify from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { serverOptions } from '../../../src/app.js'
import { SuccessSchema } from '../../../src/http/responses.js'
import { EventSchema } from '../../../src/ingest/schema.js'

const app = Fastify({ ...serverOptions, logger: false }).withTypeProvider<TypeBoxTypeProvider>()

app.post('/data', {
  schema: { body: EventSchema, response: { 200: SuccessSchema } }
}, async () => ({ status: 'success' } as const))

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
}

await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 8081) })
