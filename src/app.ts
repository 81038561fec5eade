import type { IncomingMessage, ServerResponse } from 'node:http'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { levels } from 'pino'
import { AckMode, Role, type Config } from './config.js'
import type { Sql } from './database/client.js'
import { databasePlugin } from './database/plugin.js'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { ErrorCode, IngestError, errorBody, type ForeignCode } from './errors.js'
import { connectionOptions, connectionsPlugin } from './http/connections.js'
import { ingestPlugin } from './ingest/plugin.js'
import type { Clock } from './clock.js'
import { metricsPlugin } from './metrics.js'
import { ingestRoutes } from './routes/ingest.js'
import { operationsRoutes } from './routes/operations.js'
import { bufferProbe, databaseProbe, readinessPlugin, type ReadinessProbe } from './readiness.js'
import { storagePlugin } from './storage/plugin.js'
import { streamPlugin } from './stream/plugin.js'

export interface AppDeps {
  /** The database pool; absent in the ingest role of stream mode, which never touches it. */
  sql?: Sql
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

/** pino's number for info: a request's line is written at its route's level (warn for probes) or below. */
const INFO = levels.values.info!

/**
 * The app as a plugin tree: database → metrics → stream → ingest → routes. Fastify runs onClose
 * hooks last-registered-first, so shutdown drains the buffer before the stream's connection and
 * the pool close. Which parts a process has depends on its role (docs/stream.md): the ingest role
 * of stream mode has no database, the writer role no ingest routes.
 */
export async function buildApp (config: Config, deps: AppDeps): Promise<App> {
  const app = Fastify({
    ...serverOptions,
    ...connectionOptions(config),
    loggerInstance: deps.logger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    // One line per request, written in onResponse below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true })
  }).withTypeProvider<TypeBoxTypeProvider>()

  // Once shutdown starts, every answer closes its connection: a keep-alive socket that was busy
  // when the listener closed would otherwise hold server.close() open until the client let go.
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  // Hooks on every request use the callback form: no promise per request on the hot path.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })

  // One bound child per method, route and status: the label set is checked and hashed once, not
  // on every request. Bounded: the routes are ours (unmatched ones share a label), the methods
  // Node's parser knows and the status codes few.
  const durations = new Map<string, { observe: (seconds: number) => void }>()
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? '(unmatched)'
    const elapsedMs = reply.elapsedTime
    const key = `${request.method} ${reply.statusCode} ${route}`
    let duration = durations.get(key)
    if (duration === undefined) {
      duration = app.metrics.httpDuration.labels({ method: request.method, route, status_code: reply.statusCode })
      durations.set(key, duration)
    }
    duration.observe(elapsedMs / 1000)
    // The route's logLevel (warn for probes and scrapes) keeps health checks out of the log; below
    // info, the line's fields are not even gathered.
    if ((levels.values[request.log.level] ?? Infinity) <= INFO) {
      request.log.info({ method: request.method, route, statusCode: reply.statusCode, durationMs: Math.round(elapsedMs * 100) / 100 }, 'request')
    }
    done()
  })

  // The generic fallback: our own client errors as they are, a Fastify or plugin 4xx with its
  // code, and a 500 that keeps the real message in the log. Route families add their own
  // handling in their own scope (routes/ingest.ts).
  app.setErrorHandler(async (err: Error & { statusCode?: number, code?: string }, request, reply) => {
    const statusCode = err.statusCode ?? 500
    if (statusCode < 500) {
      if (err instanceof IngestError) {
        return reply.code(statusCode).send(errorBody(statusCode, err.code, err.message, err.details, err.omittedDetails))
      }
      return reply.code(statusCode).send(errorBody(statusCode, (err.code as ForeignCode | undefined) ?? ErrorCode.badRequest, err.message))
    }
    // No stack, SQL or parameters reach the client.
    request.log.error({ err }, 'request failed')
    return reply.code(500).send(errorBody(500, ErrorCode.internal, 'internal error'))
  })

  app.setNotFoundHandler(async (request, reply) => {
    return reply.code(404).send(errorBody(404, ErrorCode.notFound, `no route for ${request.method} ${request.url}`))
  })

  const stream = config.ACK_MODE === AckMode.stream
  const writes = config.ROLE !== Role.ingest
  const takesRequests = config.ROLE !== Role.writer
  if (writes && deps.sql === undefined) throw new TypeError(`ROLE=${config.ROLE} writes to PostgreSQL: buildApp needs a pool`)

  if (writes) await app.register(databasePlugin, { sql: deps.sql! })
  await app.register(metricsPlugin)
  await app.register(connectionsPlugin, { maxConnections: config.MAX_CONNECTIONS })
  if (stream) await app.register(streamPlugin, { config })
  if (writes) {
    await app.register(storagePlugin, config)
    await app.register(ingestPlugin, { ...config, ...(deps.clock !== undefined ? { clock: deps.clock } : {}) })
  }

  // What readiness waits for. A process taking requests in stream mode does not wait for the
  // database: the stream holds the events through its outage. A writer takes no requests.
  const probes: ReadinessProbe[] = []
  if (stream) {
    if (!takesRequests) probes.push(databaseProbe(deps.sql!, config.READY_DB_TIMEOUT_MS, app.log))
    probes.push(...app.stream.probes)
  } else {
    const highWater = Math.max(1, Math.floor(app.ingest.buffer.capacity * config.READY_HIGH_WATER))
    app.metrics.sources.bufferHighWater = () => highWater
    probes.push(databaseProbe(deps.sql!, config.READY_DB_TIMEOUT_MS, app.log), bufferProbe(app.ingest.buffer, highWater))
  }
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'metrics-ingest',
        version: '1.0.0',
        description: 'Per-session voice metrics into PostgreSQL: validated, buffered, committed in batches.'
      },
      // The ingest routes declare it when keys are on; health, metrics and docs stay open.
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } }
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  await app.register(readinessPlugin, { probes, probeIntervalMs: 1_000 })
  await app.register(operationsRoutes, { serveMetrics: config.METRICS_PORT === undefined })
  if (takesRequests) {
    const intake = stream ? app.stream.publisher! : app.ingest
    await app.register(ingestRoutes, { config, intake })
  }
  return app
}
