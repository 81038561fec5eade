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

/**
 * `{"user_id":…}` → `{"event_id":"<new uuid>","user_id":…}`: a string splice, no re-serialising.
 * With `prefix` (idPrefix()), the id's first 12 hex digits are the prefix's: one load's events
 * can then be counted in a table that holds anything else (idRange).
 */
export function withEventId (event: string, prefix?: string): string {
  const id = randomUUID()
  return `{"event_id":"${prefix === undefined ? id : prefix + id.slice(PREFIX_LENGTH)}",${event.slice(1)}`
}

// `xxxxxxxx-xxxx`: 48 random bits shared by one load's ids. The rest of each id is randomUUID()'s
// (the version-4 nibble and variant bits kept, 74 random bits), so ids never repeat within a load
// and the id stays a valid UUID v4.
const PREFIX_LENGTH = 13

/** A fresh prefix for one load's event_ids: 48 random bits, another load's with odds of 2⁻⁴⁸. */
export function idPrefix (): string {
  return randomUUID().slice(0, PREFIX_LENGTH)
}

/**
 * The smallest and largest UUID that start with `prefix`. PostgreSQL compares uuids byte by byte,
 * so `event_id between low and high` is exactly the ids with the prefix, and a range scan of the
 * unique index on (event_id, "timestamp") finds them without reading anything else.
 */
export function idRange (prefix: string): { low: string, high: string } {
  return { low: `${prefix}-0000-0000-000000000000`, high: `${prefix}-ffff-ffff-ffffffffffff` }
}
