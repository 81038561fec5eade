/**
 * Realistic traffic: many users, each with a few sessions (a share of repeats), timestamps
 * near now. Session ids are derived from the user, so no event conflicts with another.
 */
import { randomUUID } from 'node:crypto'

export interface BenchEvent {
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

export interface EventSource {
  next: () => BenchEvent
}

export interface EventSourceOptions {
  users?: number
  /** The lowest user id: two sources with disjoint user ranges never share a user or a session. */
  firstUser?: number
  sessionsPerUser?: number
  seed?: number
}

const SENTIMENTS = ['positive', 'neutral', 'negative'] as const
const PLATFORMS = ['ios', 'android', 'web', 'desktop'] as const
// Session ids are user × 1,000 + n: room for the sessions of each user without collisions.
const SESSIONS_PER_USER_ID_SPACE = 1_000

export function eventSource ({ users = 10_000, firstUser = 1, sessionsPerUser = 10, seed = 1 }: EventSourceOptions = {}): EventSource {
  if (sessionsPerUser > SESSIONS_PER_USER_ID_SPACE) throw new TypeError(`sessionsPerUser must be at most ${SESSIONS_PER_USER_ID_SPACE}`)
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
      const session = user * SESSIONS_PER_USER_ID_SPACE + Math.floor(random() * sessionsPerUser)
      return {
        user_id: user,
        name: `User ${user}`,
        email: `user${user}@example.com`,
        session_id: session,
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

/**
 * A pool of pre-serialised events *without* an event_id, so the load generator spends its CPU on
 * sending. Every body adds a fresh id with withEventId(): cycling through the pool repeats users
 * and sessions (as real traffic does) but never an event.
 */
export function eventPool (size = 20_000, seed = 1): string[] {
  const source = eventSource({ seed })
  return Array.from({ length: size }, () => JSON.stringify(source.next()))
}

/** `{"user_id":…}` → `{"event_id":"<new uuid>","user_id":…}`: a string splice, no re-serialising. */
export function withEventId (event: string): string {
  return `{"event_id":"${randomUUID()}",${event.slice(1)}`
}
