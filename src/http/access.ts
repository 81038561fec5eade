/**
 * Who may ingest, and how fast: bearer keys (@fastify/bearer-auth compares in constant time)
 * and an optional per-key rate limit (@fastify/rate-limit). Applied only in the scope of the
 * ingest routes: health and metrics stay open.
 */
import { createHash } from 'node:crypto'
import bearerAuth from '@fastify/bearer-auth'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ErrorCode, IngestError, errorBody } from '../errors.js'
import { RejectReason } from '../metrics.js'

export interface AccessOptions {
  apiKeys: string[]
  ratePerMinute: number
}

/** The rate-limit bucket: a digest of the key (never the key itself), else the client address. */
function clientKey (request: FastifyRequest): string {
  const header = request.headers.authorization
  if (header?.startsWith('Bearer ') === true) {
    return createHash('sha256').update(header.slice(7)).digest('base64url').slice(0, 16)
  }
  return request.ip
}

export async function registerAccess (app: FastifyInstance, { apiKeys, ratePerMinute }: AccessOptions): Promise<void> {
  const { metrics } = app
  if (apiKeys.length > 0) {
    await app.register(bearerAuth, {
      keys: apiKeys,
      // Runs in onRequest: a refused request's body is never read.
      addHook: 'onRequest',
      verifyErrorLogLevel: 'warn',
      errorResponse: err => {
        metrics.eventsRejected.inc({ reason: RejectReason.auth })
        return errorBody(401, ErrorCode.unauthorized, `${err.message}: send Authorization: Bearer <key>`)
      }
    })
  }
  if (ratePerMinute > 0) {
    await app.register(rateLimit, {
      max: ratePerMinute,
      timeWindow: 60_000,
      keyGenerator: clientKey,
      onExceeded: () => { metrics.eventsRejected.inc({ reason: RejectReason.rateLimited }) },
      // @fastify/rate-limit throws what this returns; the error handlers answer it as any 4xx.
      errorResponseBuilder: (_request, context) =>
        new IngestError(429, ErrorCode.rateLimited, `rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}`)
    })
  }
}
