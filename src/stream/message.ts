/**
 * One request as one stream message: what is published, what a writer reads back, and the id
 * JetStream deduplicates publishes by. Pure: no NATS client here.
 */
import { createHash, randomUUID } from 'node:crypto'
import { Compile } from 'typebox/compile'
import { Type, type Static } from 'typebox'
import { EventSchema, type MetricEvent } from '../ingest/schema.js'

/** What a message carries: the request's events and when the ingest process received them. */
export const RequestMessageSchema = Type.Object({
  /** Receipt at the ingest process, epoch milliseconds. */
  receivedAt: Type.Number(),
  events: Type.Array(EventSchema, { minItems: 1 })
}, { additionalProperties: false })
export type RequestMessage = Static<typeof RequestMessageSchema>

const checkMessage = Compile(RequestMessageSchema)

/**
 * Gives every event without an event_id one, at the door: a publish retried by the client
 * library, or redelivered to a second writer, then lands on the unique key and is stored once.
 */
export function assignEventIds (events: MetricEvent[]): void {
  for (const event of events) event.event_id ??= randomUUID()
}

/**
 * The message id JetStream's duplicate window keys on. It is built from what the database
 * deduplicates on (event_id and timestamp), so a request retried with the same events is
 * dropped by the stream too, and two requests the database would store apart never collide.
 */
export function messageId (events: readonly MetricEvent[]): string {
  if (events.length === 1) return `${events[0]!.event_id!}@${events[0]!.timestamp}`
  const hash = createHash('sha256')
  for (const event of events) hash.update(`${event.event_id!}@${event.timestamp}\n`)
  return `batch-${hash.digest('base64url')}`
}

export function encodeMessage (events: readonly MetricEvent[], receivedAt: number): string {
  return JSON.stringify({ receivedAt, events })
}

/** The message, or why it cannot be written (something other than an ingest process published it). */
export function decodeMessage (data: string): RequestMessage | { problem: string } {
  let value: unknown
  try {
    value = JSON.parse(data)
  } catch (err) {
    return { problem: `not JSON: ${(err as Error).message}` }
  }
  if (checkMessage.Check(value)) return value
  const first = checkMessage.Errors(value)[0]
  return { problem: first === undefined ? 'not a request message' : `${first.instancePath || '/'} ${first.message}` }
}
