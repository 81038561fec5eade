/**
 * Realistic traffic: many users, each with a few sessions (a share of repeats), timestamps
 * near now. Session ids are derived from the user, so no event conflicts with another.
 */
export interface EventSource {
  next: () => Record<string, unknown>
}

const SENTIMENTS = ['positive', 'neutral', 'negative'] as const
const PLATFORMS = ['ios', 'android', 'web', 'desktop'] as const

export function eventSource ({ users = 10_000, sessionsPerUser = 10, seed = 1 } = {}): EventSource {
  let state = seed >>> 0
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
      const user = 1 + Math.floor(random() * users)
      const session = user * 1_000 + Math.floor(random() * sessionsPerUser)
      return {
        user_id: user,
        name: `User ${user}`,
        email: `user${user}@example.com`,
        session_id: session,
        talked_time: Math.round(random() * 36_000) / 10,
        microphone_used: random() < 0.8,
        speaker_used: random() < 0.6,
        voice_sentiment: SENTIMENTS[Math.floor(random() * 3)],
        timestamp: now - Math.floor(random() * 3_600),
        ...(random() < 0.3 ? { platform: PLATFORMS[Math.floor(random() * 4)], device_id: `device-${user}` } : {})
      }
    }
  }
}

/** A pool of pre-serialised bodies, so the load generator spends its CPU on sending. */
export function bodyPool (size = 20_000, seed = 1): string[] {
  const source = eventSource({ seed })
  return Array.from({ length: size }, () => JSON.stringify(source.next()))
}
