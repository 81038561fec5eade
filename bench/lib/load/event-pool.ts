/**
 * The HTTP scenarios' events: a pool of the shared traffic (harness/events.ts) serialised before
 * the run *without* an event_id, so the load generator spends its CPU on sending. Every body adds
 * a fresh id with withEventId(): cycling through the pool repeats users and sessions (as real
 * traffic does) but never an event.
 */
import { randomUUID } from 'node:crypto'
import { eventSource, type KeySpace } from '../../../harness/events.js'

export function eventPool (size: number, options: KeySpace & { seed: number }): string[] {
  const source = eventSource(options)
  return Array.from({ length: size }, () => JSON.stringify(source.next()))
}

/** `{"user_id":…}` → `{"event_id":"<new uuid>","user_id":…}`: a string splice, no re-serialising. */
export function withEventId (event: string): string {
  return `{"event_id":"${randomUUID()}",${event.slice(1)}`
}
