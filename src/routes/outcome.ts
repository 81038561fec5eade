/** How the buffer's answers become HTTP answers; shared by /data and /data/batch. */
import type { FastifyReply } from 'fastify'
import { ErrorCode, errorBody } from '../errors.js'
import type { Admission, Settlement } from '../ingest/plugin.js'
import { RejectReason, type Metrics } from '../metrics.js'

/** 503 + Retry-After when the buffer cannot take the events; undefined when it did. */
export function refuse (reply: FastifyReply, admission: Admission, metrics: Metrics, retryAfterSeconds: () => number, events: number): FastifyReply | undefined {
  if (admission.status === 'queued') {
    metrics.eventsAccepted.inc(events)
    return undefined
  }
  const full = admission.status === 'full'
  metrics.eventsRejected.inc({ reason: full ? RejectReason.bufferFull : RejectReason.shuttingDown }, events)
  return reply.code(503).header('retry-after', retryAfterSeconds()).send(full
    ? errorBody(503, ErrorCode.bufferFull, 'the ingest buffer is full; nothing was stored, retry later')
    : errorBody(503, ErrorCode.shuttingDown, 'the service is shutting down; nothing was stored, retry on another instance'))
}

/** A durable flush that did not write: 503 when it is worth retrying, otherwise a 500. */
export function failed (reply: FastifyReply, settlement: Extract<Settlement, { written: false }>, retryAfterSeconds: () => number): FastifyReply {
  if (settlement.failure === 'unavailable') {
    return reply.code(503).header('retry-after', retryAfterSeconds())
      .send(errorBody(503, ErrorCode.databaseUnavailable, 'the database is unavailable; nothing was stored, retry later'))
  }
  throw new Error('flush failed')
}

/** What a client is told about an event the database refused on its own. */
export function refusedMessage (sqlstate: string | undefined): string {
  return `the database refused this event (SQLSTATE ${sqlstate ?? 'unknown'}); it is kept in ingest_rejects and will not be retried`
}
