/** How the buffer's answers become HTTP answers; shared by /data and /data/batch. */
import type { FastifyReply } from 'fastify'
import { ErrorCode, errorBody } from '../errors.js'
import { ErrorSchema } from '../http/responses.js'
import type { Admission, Intake, Settlement } from '../ingest/settlement.js'
import { RejectReason, type Metrics } from '../metrics.js'

/** What every ingest route is given by the route family that registers it. */
export interface IngestRouteOptions {
  /** Where accepted events go: the buffer, or the stream in ACK_MODE=stream. */
  intake: Intake
  /** The OpenAPI security requirement of the route: bearer when INGEST_API_KEYS is set. */
  security: Array<Record<string, string[]>>
  /** The Retry-After for a 503, from the buffer's depth and drain rate. */
  retryAfterSeconds: () => number
  /** RETENTION_DAYS: older events are refused with 422; undefined: kept forever. */
  retentionDays: number | undefined
}

/** Unix seconds before which an event is beyond retention; -Infinity when data is kept forever. */
export function oldestKept (retentionDays: number | undefined, nowSeconds: number): number {
  return retentionDays === undefined ? -Infinity : nowSeconds - retentionDays * 86_400
}

/** The error answers every ingest route documents. */
export const ERROR_RESPONSES = {
  400: ErrorSchema,
  401: ErrorSchema,
  413: ErrorSchema,
  415: ErrorSchema,
  422: ErrorSchema,
  429: ErrorSchema,
  500: ErrorSchema,
  503: ErrorSchema
}

type Refusal = Exclude<Admission, { status: 'queued' }>

const REFUSALS: Record<Refusal['status'], { reason: RejectReason, code: ErrorCode, message: string }> = {
  full: { reason: RejectReason.bufferFull, code: ErrorCode.bufferFull, message: 'the ingest buffer is full; nothing was stored, retry later' },
  closing: { reason: RejectReason.shuttingDown, code: ErrorCode.shuttingDown, message: 'the service is shutting down; nothing was stored, retry on another instance' },
  stream_full: { reason: RejectReason.streamFull, code: ErrorCode.streamFull, message: 'the ingest stream is full; nothing was accepted, retry later' },
  stream_unavailable: { reason: RejectReason.streamUnavailable, code: ErrorCode.streamUnavailable, message: 'the ingest stream did not confirm this request; nothing was accepted, retry later' }
}

/** Counts the events of an admission: accepted when queued, rejected (with why) when not. */
export function countAdmission (metrics: Metrics, admission: Admission, events: number): void {
  if (admission.status === 'queued') metrics.eventsAccepted.inc(events)
  else metrics.eventsRejected.inc({ reason: REFUSALS[admission.status].reason }, events)
}

/** 503 + Retry-After for events not taken: the buffer or stream is full or out of reach, or the service is closing. */
export function refuse (reply: FastifyReply, admission: Refusal, retryAfterSeconds: () => number): FastifyReply {
  const { code, message } = REFUSALS[admission.status]
  return reply.code(503).header('retry-after', retryAfterSeconds()).send(errorBody(503, code, message))
}

/**
 * A durable flush that did not write: 503 + Retry-After when the database was unavailable
 * (worth retrying), 500 when it refused the batch (the flusher logged why; the client sees no SQL).
 */
export function answerNotWritten (reply: FastifyReply, settlement: Extract<Settlement, { written: false }>, retryAfterSeconds: () => number): FastifyReply {
  if (settlement.failure === 'unavailable') {
    return reply.code(503).header('retry-after', retryAfterSeconds())
      .send(errorBody(503, ErrorCode.databaseUnavailable, 'the database is unavailable; nothing was stored, retry later'))
  }
  return reply.code(500).send(errorBody(500, ErrorCode.internal, 'internal error'))
}

/** What a client is told about an event the database refused on its own. */
export function refusedMessage (sqlstate: string | undefined): string {
  return `the database refused this event (SQLSTATE ${sqlstate ?? 'unknown'}); it is kept in ingest_rejects and will not be retried`
}
