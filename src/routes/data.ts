import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorCode, beyondRetention, errorBody, fieldProblems, invalidEvent } from '../errors.js'
import { ErrorSchema, SuccessSchema } from '../http/responses.js'
import { EventSchema, eventProblems, retentionProblem } from '../ingest/schema.js'
import { EventStatus } from '../ingest/writer.js'
import { ERROR_RESPONSES, answerNotWritten, countAdmission, oldestKept, refuse, refusedMessage, type IngestRouteOptions } from './outcome.js'

/** POST /data: validate, hand to the buffer, translate the outcome into a status code. */
export const dataRoute: FastifyPluginAsyncTypebox<IngestRouteOptions> = async (app, { intake, retryAfterSeconds, security, retentionDays }) => {
  const { metrics } = app

  app.post('/data', {
    schema: {
      security,
      summary: 'Ingest one metrics event',
      description: 'Durable mode (default) answers 200 once the event is committed; buffered mode answers 202 once it is buffered; stream mode answers 202 once the stream holds it.',
      body: EventSchema,
      response: {
        200: SuccessSchema,
        202: SuccessSchema,
        409: ErrorSchema,
        ...ERROR_RESPONSES
      }
    },
    // Every invalid field named, in our error body.
    schemaErrorFormatter: errors => invalidEvent(fieldProblems(errors)),
    onRequest: (_request, _reply, done) => { metrics.eventsReceived.inc(); done() }
  }, async (request, reply) => {
    const now = Date.now() / 1000
    const problems = eventProblems(request.body, now)
    if (problems.length > 0) throw invalidEvent(problems)
    const expired = retentionProblem(request.body, oldestKept(retentionDays, now))
    if (expired !== undefined) throw beyondRetention([expired], retentionDays!)

    const admission = await intake.submit([request.body])
    countAdmission(metrics, admission, 1)
    if (admission.status !== 'queued') return refuse(reply, admission, retryAfterSeconds)
    if (admission.outcome === undefined) {
      return reply.code(202).send({ status: 'accepted' } as const)
    }

    const settlement = await admission.outcome
    if (!settlement.written) return answerNotWritten(reply, settlement, retryAfterSeconds)
    switch (settlement.statuses[0]) {
      case EventStatus.committed:
        return { status: 'success' } as const
      case EventStatus.duplicate:
        return { status: 'success', duplicate: true } as const
      case EventStatus.conflict:
        return reply.code(409).send(errorBody(409, ErrorCode.sessionConflict,
          `session ${request.body.session_id} belongs to another user`,
          [{ path: '/session_id', message: 'belongs to another user' }]))
      default:
        return reply.code(422).send(errorBody(422, ErrorCode.rejectedByDatabase, refusedMessage(settlement.sqlstates.get(0))))
    }
  })
}
