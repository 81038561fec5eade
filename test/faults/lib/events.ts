/**
 * Events for the fault suite: the shared traffic (harness/events.ts), each with a fresh event_id
 * — the key the accounting counts by. A worker owns its users, so no two workers' events meet on
 * a user or a session, and every refusal the suite sees comes from the fault it injects.
 */
import { randomUUID } from 'node:crypto'
import { eventSource, type TrafficEvent } from '../../../harness/events.js'

/**
 * The poison marker: a talked_time that passes validation but that the test database's
 * trigger refuses (scenario poison-rows). Ordinary events use tenths of a second, so they
 * can never hit it by chance.
 */
export const POISON_TALKED_TIME = 666.25

export type FaultEvent = TrafficEvent & { event_id: string }

// Users per worker, and sessions per user.
const USERS = 1_000
const SESSIONS = 16

/** The events worker number `worker` sends: next(true) makes one poison. */
export function workerEvents (worker: number): { next: (poison?: boolean) => FaultEvent } {
  const source = eventSource({ users: USERS, firstUser: 1 + worker * USERS, sessionsPerUser: SESSIONS, seed: worker + 1 })
  return {
    next: (poison = false) => ({
      event_id: randomUUID(),
      ...source.next(),
      ...(poison ? { talked_time: POISON_TALKED_TIME } : {})
    })
  }
}

export function isPoison (event: FaultEvent): boolean {
  return event.talked_time === POISON_TALKED_TIME
}
