import type { FastifyPluginAsync } from 'fastify'

/** Liveness and the Prometheus scrape. Neither is behind ingest keys. */
export const operationsRoutes: FastifyPluginAsync = async app => {
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }))

  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    const { registry } = app.metrics
    reply.header('content-type', registry.contentType)
    return await registry.metrics()
  })
}
