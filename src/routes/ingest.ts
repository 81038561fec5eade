/**
 * The ingest routes and what only they need: compressed bodies, strict JSON/NDJSON parsing,
 * API keys, rate limits, and their own error handler. Encapsulated, so /healthz, /readyz and
 * /metrics stay open and the app-wide handler stays the generic fallback.
 */
import compress from '@fastify/compress'
import type { FastifyPluginAsync } from 'fastify'
import type { Config } from '../config.js'
import { ErrorCode, IngestError } from '../errors.js'
import { registerAccess } from '../http/access.js'
import { registerBodyParsers } from '../http/body-parsers.js'
import type { Intake } from '../ingest/settlement.js'
import { RejectReason } from '../metrics.js'
import { batchRoute } from './batch.js'
import { dataRoute } from './data.js'
import type { IngestRouteOptions } from './outcome.js'

export const ingestRoutes: FastifyPluginAsync<{ config: Config, intake: Intake }> = async (app, { config, intake }) => {
  registerBodyParsers(app, config.BODY_LIMIT_BYTES)
  // Request decompression only. The size limit is enforced on the inflated stream, so a small
  // gzip that inflates past BODY_LIMIT_BYTES is cut off with 413 instead of being allocated.
  await app.register(compress, {
    globalCompression: false,
    requestEncodings: ['gzip', 'deflate', 'identity']
  })
  const apiKeys = config.INGEST_API_KEYS?.split(',') ?? []
  if (apiKeys.length === 0) app.log.warn('INGEST_API_KEYS is unset: /data and /data/batch accept requests without a key')
  await registerAccess(app, {
    apiKeys,
    ratePerMinute: config.RATE_LIMIT_PER_MINUTE
  })

  // A client error on these routes is an event refused at the door; auth and rate-limit
  // refusals are counted where they happen, under their own reasons. The answer itself is the
  // app-wide handler's: a handler that throws hands the error to its parent's.
  app.setErrorHandler((err: Error & { statusCode?: number }, _request, _reply) => {
    const statusCode = err.statusCode ?? 500
    if (statusCode < 500 && statusCode !== 401 && statusCode !== 429) {
      const beyondRetention = err instanceof IngestError && err.code === ErrorCode.beyondRetention
      app.metrics.eventsRejected.inc({ reason: beyondRetention ? RejectReason.beyondRetention : RejectReason.validation })
    }
    throw err
  })

  const common: IngestRouteOptions = {
    intake,
    retryAfterSeconds: intake.retryAfter,
    security: apiKeys.length > 0 ? [{ bearer: [] }] : [],
    retentionDays: config.RETENTION_DAYS
  }
  await app.register(dataRoute, common)
  await app.register(batchRoute, { ...common, maxEvents: config.BATCH_MAX_EVENTS })
}
