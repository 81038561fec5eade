import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorCode, IngestError, batchProblems, beyondRetention, fieldProblems, invalidBatch } from '../errors.js'
import { BatchSuccessSchema, type FieldProblem } from '../http/responses.js'
import { batchSchema, eventProblems, retentionProblem } from '../ingest/schema.js'
import { EventStatus } from '../ingest/writer.js'
import { ERROR_RESPONSES, answerNotWritten, countAdmission, oldestKept, refuse, refusedMessage, type IngestRouteOptions } from './outcome.js'

export interface BatchRouteOptions extends IngestRouteOptions {
  maxEvents: number
}

/**
 * POST /data/batch: all or nothing. Every item is validated before any is buffered; the
 * valid batch goes to the buffer as one item, so it is written in one transaction.
 */
export const batchRoute: FastifyPluginAsyncTypebox<BatchRouteOptions> = async (app, { intake, retryAfterSeconds, security, maxEvents, retentionDays }) => {
  const { metrics } = app

  app.post('/data/batch', {
    schema: {
      security,
      summary: 'Ingest a batch of metrics events',
      description: `A JSON array (application/json) or NDJSON (application/x-ndjson, one event per line, blank lines ignored) of up to ${maxEvents} events. ` +
        'If any item is invalid nothing is stored and every bad item is named by its index. ' +
        'Durable mode answers 200 once the whole batch is committed; buffered mode answers 202 once it is buffered; stream mode answers 202 once the stream holds it.',
      consumes: ['application/json', 'application/x-ndjson'],
      body: batchSchema(maxEvents),
      response: {
        200: BatchSuccessSchema,
        202: BatchSuccessSchema,
        ...ERROR_RESPONSES
      }
    },
    // Every bad item named by its index, in our error body.
    schemaErrorFormatter: errors => invalidBatch(batchProblems(fieldProblems(errors))),
    onRequest: (_request, _reply, done) => { metrics.eventsReceived.inc(); done() },
    // Refuse an oversized batch before the schema walks every item of it.
    preValidation: async request => {
      const body = request.body
      if (Array.isArray(body) && body.length > maxEvents) {
        throw new IngestError(413, ErrorCode.batchTooLarge, `the batch has ${body.length} events; at most ${maxEvents} are accepted per request`)
      }
    }
  }, async (request, reply) => {
    const events = request.body
    const now = Date.now() / 1000
    const problems: FieldProblem[] = []
    for (const [index, event] of events.entries()) {
      for (const problem of eventProblems(event, now)) problems.push({ index, ...problem })
    }
    if (problems.length > 0) throw invalidBatch(problems)
    const oldest = oldestKept(retentionDays, now)
    const expired: FieldProblem[] = []
    for (const [index, event] of events.entries()) {
      const problem = retentionProblem(event, oldest)
      if (problem !== undefined) expired.push({ index, ...problem })
    }
    if (expired.length > 0) throw beyondRetention(expired, retentionDays!)
    metrics.eventsReceived.inc(Math.max(0, events.length - 1))

    const admission = await intake.submit(events)
    countAdmission(metrics, admission, events.length)
    if (admission.status !== 'queued') return refuse(reply, admission, retryAfterSeconds)
    if (admission.outcome === undefined) {
      return reply.code(202).send({ status: 'accepted', accepted: events.length, duplicates: 0, rejected: [] } as const)
    }

    const settlement = await admission.outcome
    if (!settlement.written) return answerNotWritten(reply, settlement, retryAfterSeconds)
    let accepted = 0
    let duplicates = 0
    const rejected: Array<{ index: number, code: string, message: string }> = []
    for (const [index, status] of settlement.statuses.entries()) {
      if (status === EventStatus.committed) accepted++
      else if (status === EventStatus.duplicate) duplicates++
      else if (status === EventStatus.conflict) rejected.push({ index, code: ErrorCode.sessionConflict, message: `session ${events[index]!.session_id} belongs to another user` })
      else rejected.push({ index, code: ErrorCode.rejectedByDatabase, message: refusedMessage(settlement.sqlstates.get(index)) })
    }
    return { status: 'success', accepted, duplicates, rejected } as const
  })
}
