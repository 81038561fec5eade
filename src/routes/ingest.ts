/**
 * The ingest routes and what only they need: compressed bodies, strict JSON/NDJSON parsing,
 * API keys and rate limits. Encapsulated, so /healthz, /readyz and /metrics stay open.
 */
import compress from '@fastify/compress'
import type { FastifyPluginAsync } from 'fastify'
import type { Config } from '../config.js'
import { registerAccess } from '../http/access.js'
import { registerBodyParsers } from '../http/body-parsers.js'
import { ErrorSchema } from '../ingest/schema.js'
import { batchRoute } from './batch.js'
import { dataRoute } from './data.js'

export interface IngestRouteOptions {
  /** The OpenAPI security requirement of the route: bearer when INGEST_API_KEYS is set. */
  security: Array<Record<string, string[]>>
  /** The Retry-After for a 503, from the buffer's depth and drain rate. */
  retryAfterSeconds: () => number
  /** The error answers every ingest route documents. */
  responses: Record<number, typeof ErrorSchema>
}

const ERROR_RESPONSES = {
  400: ErrorSchema,
  401: ErrorSchema,
  413: ErrorSchema,
  415: ErrorSchema,
  422: ErrorSchema,
  429: ErrorSchema,
  503: ErrorSchema
}

export const ingestRoutes: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
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
  const security = apiKeys.length > 0 ? [{ bearer: [] }] : []
  const common = { retryAfterSeconds: app.ingest.retryAfter, responses: ERROR_RESPONSES, security }
  await app.register(dataRoute, common)
  await app.register(batchRoute, { ...common, maxEvents: config.BATCH_MAX_EVENTS })
}
