/**
 * Events for the fault suite: each with a fresh event_id (the key the accounting counts by),
 * valid, and never in conflict with another — a worker owns its users, and a session id is
 * derived from its user — so every refusal the suite sees comes from the fault it injects.
 */
import { randomUUID } from 'node:crypto'

/**
 * The poison marker: a talked_time that passes validation but that the test database's
 * trigger refuses (scenario poison-rows). Ordinary events use tenths of a second, so they
 * can never hit it by chance.
 */
export const POISON_TALKED_TIME = 666.25

const SENTIMENTS = ['positive', 'neutral', 'negative'] as const

export interface FaultEvent {
  event_id: string
  user_id: number
  name: string
  email: string
  session_id: number
  talked_time: number
  microphone_used: boolean
  speaker_used: boolean
  voice_sentiment: typeof SENTIMENTS[number]
  timestamp: number
  platform?: string
}

// Users per worker, and sessions per user.
const USERS = 1_000
const SESSIONS = 16

export function makeEvent (worker: number, poison = false): FaultEvent {
  const user = 1 + worker * USERS + Math.floor(Math.random() * USERS)
  return {
    event_id: randomUUID(),
    user_id: user,
    name: `User ${user}`,
    email: `user${user}@example.com`,
    session_id: user * SESSIONS + Math.floor(Math.random() * SESSIONS),
    talked_time: poison ? POISON_TALKED_TIME : Math.round(Math.random() * 36_000) / 10,
    microphone_used: Math.random() < 0.8,
    speaker_used: Math.random() < 0.6,
    voice_sentiment: SENTIMENTS[Math.floor(Math.random() * 3)]!,
    timestamp: Math.floor(Date.now() / 1000) - Math.floor(Math.random() * 3_600),
    ...(Math.random() < 0.3 ? { platform: 'android' } : {})
  }
}

export function isPoison (event: FaultEvent): boolean {
  return event.talked_time === POISON_TALKED_TIME
}
