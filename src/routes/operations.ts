import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'

export interface OperationsOptions {
  /** False when METRICS_PORT moves /metrics to its own listener. */
  serveMetrics: boolean
}

const ReadinessSchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
  // Which checks depend on the mode and role (docs/stream.md): durable and buffered check the
  // database and the buffer; stream mode checks NATS, the stream's fill, and a writer's database.
  checks: Type.Object({
    database: Type.Optional(Type.String({ description: 'ok, or why the database does not answer' })),
    buffer: Type.Optional(Type.String({ description: 'ok, or how full the buffer is' })),
    nats: Type.Optional(Type.String({ description: 'stream mode: ok, or why NATS JetStream does not answer' })),
    stream: Type.Optional(Type.String({ description: 'stream mode, ingest: ok, or how full the stream is' })),
    shutdown: Type.String({ description: 'ok, or shutting down' })
  })
})

/** Liveness, readiness and the Prometheus scrape. None is behind ingest keys. */
export const operationsRoutes: FastifyPluginAsync<OperationsOptions> = async (app, { serveMetrics }) => {
  app.get('/healthz', {
    logLevel: 'warn',
    schema: { summary: 'Liveness: the process is serving', response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
  }, async () => ({ status: 'ok' }))

  app.get('/readyz', {
    logLevel: 'warn',
    schema: {
      summary: 'Readiness: 200 only when what this process depends on answers (the database, or NATS in stream mode), its buffer or stream is below its high-water mark, and it is not shutting down',
      response: { 200: ReadinessSchema, 503: ReadinessSchema }
    }
  }, async (_request, reply) => {
    const { ready, checks } = await app.readiness.check()
    return await reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks })
  })

  if (serveMetrics) {
    app.get('/metrics', { logLevel: 'warn', schema: { summary: 'Prometheus metrics (text format)' } }, async (_request, reply) => {
      const { registry } = app.metrics
      reply.header('content-type', registry.contentType)
      return await registry.metrics()
    })
  }
}
