import type { IncomingMessage, ServerResponse } from 'node:http'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import type { Sql } from './database/client.js'
import { databasePlugin } from './database/plugin.js'
import { ErrorCode, IngestError, errorBody, fieldProblems, invalidEvent } from './errors.js'
import { ingestPlugin } from './ingest/plugin.js'
import type { Clock } from './ingest/ring-buffer.js'
import { metricsPlugin, RejectReason } from './metrics.js'
import { dataRoutes } from './routes/data.js'
import { operationsRoutes } from './routes/health.js'

export interface AppDeps {
  sql: Sql
  logger: FastifyBaseLogger
  clock?: Clock
}

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>

export const serverOptions = {
  // Every invalid field is named, types are never coerced ("1" is not 1) and unknown fields are
  // refused, not silently stripped — Fastify's defaults do the opposite of all three.
  ajv: { customOptions: { allErrors: true, coerceTypes: false, removeAdditional: false, useDefaults: false } },
  // We answer requests that arrive during shutdown ourselves: 503 with Retry-After.
  return503OnClosing: false,
  requestIdHeader: 'x-request-id'
} as const

/**
 * The app as a plugin tree: database → metrics → ingest → routes. Fastify runs onClose hooks
 * last-registered-first, so shutdown drains the buffer before the pool closes.
 */
export async function buildApp (config: Config, deps: AppDeps): Promise<App> {
  const app = Fastify({
    ...serverOptions,
    loggerInstance: deps.logger,
    // One line per request, written in onResponse below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true })
  }).withTypeProvider<TypeBoxTypeProvider>()

  // Once shutdown starts, every answer closes its connection: a keep-alive socket that was busy
  // when the listener closed would otherwise hold server.close() open until the client let go.
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close')
  })

  app.addHook('onResponse', async (request, reply) => {
    request.log.info({
      method: request.method,
      route: request.routeOptions.url ?? '(unmatched)',
      statusCode: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 100) / 100
    }, 'request')
  })

  // Events are JSON. Fastify also parses text/plain by default; refuse it with 415 instead of
  // letting a string reach the schema and come back as a confusing 400.
  app.removeContentTypeParser('text/plain')

  app.setErrorHandler(async (err: Error & { statusCode?: number, code?: string, validation?: unknown }, request, reply) => {
    if (err.validation !== undefined) {
      app.metrics.eventsRejected.inc({ reason: RejectReason.validation })
      const invalid = invalidEvent(fieldProblems(err.validation as Parameters<typeof fieldProblems>[0]))
      return reply.code(400).send(errorBody(400, invalid.code, invalid.message, invalid.details))
    }
    if (err instanceof IngestError) {
      if (err.statusCode === 400) app.metrics.eventsRejected.inc({ reason: RejectReason.validation })
      return reply.code(err.statusCode).send(errorBody(err.statusCode, err.code, err.message, err.details))
    }
    const statusCode = err.statusCode ?? 500
    if (statusCode < 500) {
      if (request.routeOptions.url === '/data') app.metrics.eventsRejected.inc({ reason: RejectReason.validation })
      return reply.code(statusCode).send(errorBody(statusCode, err.code ?? 'INGEST_BAD_REQUEST', err.message))
    }
    // The real message stays in the log: no stack, SQL or parameters reach the client.
    request.log.error({ err }, 'request failed')
    return reply.code(500).send(errorBody(500, ErrorCode.internal, 'internal error'))
  })

  app.setNotFoundHandler(async (request, reply) => {
    return reply.code(404).send(errorBody(404, 'INGEST_NOT_FOUND', `no route for ${request.method} ${request.url}`))
  })

  await app.register(databasePlugin, { sql: deps.sql })
  await app.register(metricsPlugin)
  await app.register(ingestPlugin, { ...config, ...(deps.clock !== undefined ? { clock: deps.clock } : {}) })
  await app.register(operationsRoutes)
  await app.register(dataRoutes, { retryAfterSeconds: config.RETRY_AFTER_SECONDS })
  return app
}
