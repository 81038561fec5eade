/**
 * Events to send the service: random traffic for the bench and the fault suite, and the origin
 * README's example request for the tests.
 *
 * A session id is derived from its user (user × sessionsPerUser + n), so a session is always
 * posted with the same owner and no event ever conflicts with another: every refusal, and every
 * missing row, then comes from what the run is measuring or the fault it injects.
 */
import { EXAMPLE_EVENT } from '../src/ingest/schema.js'

export interface TrafficEvent {
  user_id: number
  name: string
  email: string
  session_id: number
  talked_time: number
  microphone_used: boolean
  speaker_used: boolean
  voice_sentiment: 'positive' | 'neutral' | 'negative'
  timestamp: number
  platform?: string
  device_id?: string
}

/** Which users and sessions the traffic spreads over. */
export interface KeySpace {
  users?: number
  /** The lowest user id: sources with disjoint user ranges never share a user or a session. */
  firstUser?: number
  sessionsPerUser?: number
}

export interface EventSourceOptions extends KeySpace {
  /** Two sources with the same seed send the same events. */
  seed?: number
}

export interface EventSource {
  next: () => TrafficEvent
}

const SENTIMENTS = ['positive', 'neutral', 'negative'] as const
const PLATFORMS = ['ios', 'android', 'web', 'desktop'] as const

/** Many users (10,000 by default), a few sessions each (a share of repeats), timestamps in the last hour. */
export function eventSource ({ users = 10_000, firstUser = 1, sessionsPerUser = 10, seed = 1 }: EventSourceOptions = {}): EventSource {
  let state = seed >>> 0 || 1
  // xorshift32: deterministic, so two runs send the same traffic.
  const random = (): number => {
    state ^= state << 13; state >>>= 0
    state ^= state >>> 17
    state ^= state << 5; state >>>= 0
    return state / 0x1_0000_0000
  }
  const now = Math.floor(Date.now() / 1000)
  return {
    next () {
      const user = firstUser + Math.floor(random() * users)
      return {
        user_id: user,
        name: `User ${user}`,
        email: `user${user}@example.com`,
        session_id: user * sessionsPerUser + Math.floor(random() * sessionsPerUser),
        talked_time: Math.round(random() * 36_000) / 10,
        microphone_used: random() < 0.8,
        speaker_used: random() < 0.6,
        voice_sentiment: SENTIMENTS[Math.floor(random() * 3)]!,
        timestamp: now - Math.floor(random() * 3_600),
        ...(random() < 0.3 ? { platform: PLATFORMS[Math.floor(random() * 4)]!, device_id: `device-${user}` } : {})
      }
    }
  }
}

/** The origin README's example request (the OpenAPI example, without its event_id), with overrides (any value: the tests post invalid ones too). */
export function exampleEvent (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { event_id: _eventId, ...example } = EXAMPLE_EVENT
  return { ...example, ...overrides }
}
