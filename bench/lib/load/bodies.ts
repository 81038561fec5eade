/**
 * Request bodies for the load generator. Every event carries its own event_id (a UUID, never
 * repeated within a run), so the service stores each one and the no-loss check can count rows.
 */
import { gzipSync } from 'node:zlib'
import type { KeySpace } from '../../../harness/events.js'
import { eventPool, withEventId } from './event-pool.js'
import { liveEvents, type LiveTraffic } from './live-events.js'

export const BodyKind = {
  /** POST /data: one JSON object. */
  single: 'single',
  /** POST /data/batch: a JSON array. */
  jsonArray: 'json-array',
  /** POST /data/batch: NDJSON with Content-Encoding: gzip, compressed before the run. */
  ndjsonGzip: 'ndjson-gzip'
} as const
export type BodyKind = typeof BodyKind[keyof typeof BodyKind]

export interface BodySpec {
  kind: BodyKind
  /** Events per request: 1 for `single`. */
  events: number
  /** Which users and sessions the events spread over; default: 10,000 users, 10 sessions each. */
  keys?: KeySpace
  /** Live traffic (live-events.ts): stamped as sent, sessions rolling over. Default: the pool replayed as it is. */
  live?: LiveTraffic
}

export interface BodySource {
  readonly eventsPerRequest: number
  readonly headers: Record<string, string>
  next: () => string | Buffer
  /**
   * Starts again from the first pre-built body. Only after the tables have been truncated:
   * pre-built bodies (the gzip ones) carry fixed ids, which would otherwise be duplicates.
   */
  rewind: () => void
  /** Bodies built during the run because the pre-built ones ran out (costs client CPU: say so). */
  readonly builtDuringRun: number
  /** The prefix every event_id starts with (event-pool.ts's idPrefix), when one was asked for. */
  readonly idPrefix?: string
}

// The gzip pool is sized for this many events a second, above the COPY ceiling measured here
// (~50–70 k rows/s): a run that outpaces it builds the rest on the fly (and the report says so).
const GZIP_POOL_EVENTS_PER_SECOND = 80_000

// Distinct events serialised before the run; cycling through them repeats users and sessions.
const POOL_EVENTS = 20_000

/** The pool's events in turn, from the first again after the last. */
function replay (pool: readonly string[]): () => string {
  let cursor = 0
  return () => {
    const event = pool[cursor]!
    cursor = (cursor + 1) % pool.length
    return event
  }
}

/**
 * `idPrefix`: every event_id starts with it (a load against a deployment whose tables are not
 * emptied counts its own rows by it). The pre-built gzip bodies carry theirs from the start.
 */
export function bodySource (spec: BodySpec, { seconds, seed = 1, idPrefix }: { seconds: number, seed?: number, idPrefix?: string }): BodySource {
  const nextInPool = spec.live === undefined ? replay(eventPool(POOL_EVENTS, { ...spec.keys, seed })) : liveEvents(POOL_EVENTS, { ...spec.keys, ...spec.live, seed })
  const nextEvent = (): string => withEventId(nextInPool(), idPrefix)
  const prefixed = idPrefix !== undefined ? { idPrefix } : {}
  const take = (n: number): string[] => Array.from({ length: n }, nextEvent)

  if (spec.kind === BodyKind.single) {
    return {
      eventsPerRequest: 1,
      headers: { 'content-type': 'application/json' },
      next: nextEvent,
      rewind: () => {},
      builtDuringRun: 0,
      ...prefixed
    }
  }
  if (spec.kind === BodyKind.jsonArray) {
    // Built per request: a thousand splices and a join cost far less than the server's parse.
    return {
      eventsPerRequest: spec.events,
      headers: { 'content-type': 'application/json' },
      next: () => `[${take(spec.events).join(',')}]`,
      rewind: () => {},
      builtDuringRun: 0,
      ...prefixed
    }
  }
  const gzipBody = (): Buffer => gzipSync(take(spec.events).join('\n') + '\n')
  const prebuilt = Array.from({ length: Math.ceil(seconds * GZIP_POOL_EVENTS_PER_SECOND / spec.events) }, gzipBody)
  let index = 0
  let built = 0
  return {
    eventsPerRequest: spec.events,
    headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
    next: () => {
      if (index < prebuilt.length) return prebuilt[index++]!
      built++
      return gzipBody()
    },
    rewind: () => { index = 0; built = 0 },
    get builtDuringRun () { return built },
    ...prefixed
  }
}
