import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { AckMode } from '../config.js'
import { ErrorCode, errorBody, invalidEvent } from '../errors.js'
import { Outcome } from '../ingest/plugin.js'
import { ErrorSchema, EventSchema, SuccessSchema, eventProblems } from '../ingest/schema.js'
import { RejectReason } from '../metrics.js'

export interface DataRouteOptions {
  retryAfterSeconds: number
}

/** POST /data: validate, hand to the buffer, translate the outcome into a status code. */
export const dataRoutes: FastifyPluginAsyncTypebox<DataRouteOptions> = async (app, { retryAfterSeconds }) => {
  const { ingest, metrics } = app

  function unavailable (reply: FastifyReply, code: string, reason: RejectReason, message: string) {
    metrics.eventsRejected.inc({ reason })
    return reply.code(503).header('retry-after', retryAfterSeconds).send(errorBody(503, code, message))
  }

  app.post('/data', {
    schema: {
      summary: 'Ingest one metrics event',
      body: EventSchema,
      response: {
        200: SuccessSchema,
        202: SuccessSchema,
        400: ErrorSchema,
        409: ErrorSchema,
        503: ErrorSchema
      }
    },
    onRequest: async () => { metrics.eventsReceived.inc() }
  }, async (request, reply) => {
    const problems = eventProblems(request.body, Date.now() / 1000)
    if (problems.length > 0) throw invalidEvent(problems)

    const admission = ingest.submit(request.body)
    if (admission.status === 'full') {
      return unavailable(reply, ErrorCode.bufferFull, RejectReason.bufferFull, 'the ingest buffer is full; retry later')
    }
    if (admission.status === 'closing') {
      return unavailable(reply, ErrorCode.shuttingDown, RejectReason.shuttingDown, 'the service is shutting down; retry on another instance')
    }
    metrics.eventsAccepted.inc()
    if (ingest.ackMode === AckMode.buffered || admission.outcome === undefined) {
      return reply.code(202).send({ status: 'accepted' } as const)
    }

    const outcome = await admission.outcome
    switch (outcome) {
      case Outcome.committed:
        return { status: 'success' } as const
      case Outcome.conflict:
        return reply.code(409).send(errorBody(409, ErrorCode.sessionConflict,
          `session ${request.body.session_id} belongs to another user`,
          [{ path: '/session_id', message: 'belongs to another user' }]))
      case Outcome.unavailable:
        // Already counted as rejected by the flush that failed.
        return reply.code(503).header('retry-after', retryAfterSeconds)
          .send(errorBody(503, ErrorCode.databaseUnavailable, 'the database is unavailable; nothing was stored, retry later'))
      default:
        throw new Error('flush failed')
    }
  })
}
