import { Type, type Static } from 'typebox'
import type { FieldProblem } from '../http/responses.js'

/** 2000-01-01T00:00:00Z: nothing this service ingests is older. */
export const MIN_TIMESTAMP_SECONDS = 946_684_800
/** How far a client clock may run ahead of ours before an event is refused. */
export const MAX_FUTURE_SKEW_SECONDS = 86_400
/** One day of talk: a session longer than that is a client bug, not a conversation. */
export const MAX_TALKED_TIME_SECONDS = 86_400

// PostgreSQL rejects U+0000 in text; one such string would fail a whole batch, so refuse it at the door.
const NO_NUL = '^[^\\u0000]*$'

const Id = (description: string) =>
  Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description })
const Text = (description: string, minLength = 0) =>
  Type.String({ minLength, maxLength: 255, pattern: NO_NUL, description })
const UnixSeconds = (description: string) =>
  Type.Number({ minimum: MIN_TIMESTAMP_SECONDS, description })

export const VoiceSentiment = {
  positive: 'positive',
  neutral: 'neutral',
  negative: 'negative'
} as const

/** The origin README's request, with an idempotency key. */
export const EXAMPLE_EVENT = {
  event_id: '1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b',
  user_id: 1,
  name: 'John Doe',
  email: 'john.doe@example.com',
  session_id: 1,
  talked_time: 120,
  microphone_used: true,
  speaker_used: true,
  voice_sentiment: 'positive',
  timestamp: 1622558400
}

export const EventSchema = Type.Object({
  event_id: Type.Optional(Type.String({
    format: 'uuid',
    description: 'Idempotency key: an event whose id is already stored is acknowledged and not stored again'
  })),
  user_id: Id('The user; positive safe integer, stored as bigint'),
  name: Text('Display name of the user; the latest event by timestamp wins', 1),
  email: Type.String({ format: 'email', maxLength: 255, pattern: NO_NUL, description: 'Not unique: users may share an address' }),
  session_id: Id('The session; it belongs to the first user who reports it'),
  talked_time: Type.Number({ minimum: 0, maximum: MAX_TALKED_TIME_SECONDS, description: 'Seconds of talk, fractions allowed' }),
  microphone_used: Type.Boolean(),
  speaker_used: Type.Boolean(),
  voice_sentiment: Type.Enum(Object.values(VoiceSentiment)),
  timestamp: UnixSeconds('When the metric was taken, unix seconds; at most a day ahead of the server clock'),
  device_id: Type.Optional(Text('Session detail')),
  platform: Type.Optional(Text('Session detail')),
  location: Type.Optional(Text('Session detail')),
  start_time: Type.Optional(UnixSeconds('Session start, unix seconds')),
  end_time: Type.Optional(UnixSeconds('Session end, unix seconds; not before start_time'))
}, { additionalProperties: false, examples: [EXAMPLE_EVENT] })

export type MetricEvent = Static<typeof EventSchema>

/**
 * The rules JSON Schema cannot state: a bound that moves with the clock, and a
 * comparison between two fields. Runs after the schema has passed.
 */
export function eventProblems (event: MetricEvent, nowSeconds: number): FieldProblem[] {
  const problems: FieldProblem[] = []
  const latest = nowSeconds + MAX_FUTURE_SKEW_SECONDS
  for (const field of ['timestamp', 'start_time', 'end_time'] as const) {
    const value = event[field]
    if (value !== undefined && value > latest) {
      problems.push({ path: `/${field}`, message: `must not be more than ${MAX_FUTURE_SKEW_SECONDS} seconds in the future` })
    }
  }
  if (event.start_time !== undefined && event.end_time !== undefined && event.end_time < event.start_time) {
    problems.push({ path: '/end_time', message: 'must not be before start_time' })
  }
  return problems
}

/** The problem of an event older than the retention window (RETENTION_DAYS), if it is. */
export function retentionProblem (event: MetricEvent, oldestSeconds: number): FieldProblem | undefined {
  if (event.timestamp >= oldestSeconds) return undefined
  return { path: '/timestamp', message: `is older than the retention window (before ${new Date(oldestSeconds * 1000).toISOString()})` }
}

export function batchSchema (maxEvents: number) {
  const example = EXAMPLE_EVENT
  return Type.Array(EventSchema, {
    maxItems: maxEvents,
    examples: [[example, { ...example, event_id: '6f1c2d7e-8a4b-4c1e-9d2f-3b5a6c7d8e9f', session_id: 2, voice_sentiment: 'neutral' }]],
    description: `Up to ${maxEvents} events; as a JSON array (application/json) or one per line (application/x-ndjson)`
  })
}
