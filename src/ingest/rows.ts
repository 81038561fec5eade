/**
 * The rows a batch of events becomes, built in memory before any SQL: one per session, one per
 * user. Pure; the writer sends them as arrays.
 */
import type { MetricEvent } from './schema.js'

export interface SessionDetails {
  device_id: string | null
  platform: string | null
  location: string | null
  start_time: number | null
  end_time: number | null
}

export interface SessionRow extends SessionDetails {
  session_id: number
  user_id: number
}

/**
 * Which details a session row holds, one bit each (device, platform, location, start, end).
 * Details are only ever filled in, so a mask read from the database is a lower bound for good.
 */
export const Filled = { device: 1, platform: 2, location: 4, start: 8, end: 16 } as const

/** The Filled bits of a session row's details, or of an event's (where an absent detail is undefined). */
export function filledMask (details: { [K in keyof SessionDetails]?: SessionDetails[K] | undefined }): number {
  return (details.device_id != null ? Filled.device : 0) |
    (details.platform != null ? Filled.platform : 0) |
    (details.location != null ? Filled.location : 0) |
    (details.start_time != null ? Filled.start : 0) |
    (details.end_time != null ? Filled.end : 0)
}

/**
 * How a later report fills a session's details: a column once set is kept, a missing one is
 * filled, and a time that would put end before start is dropped. The SQL upsert in writer.ts
 * applies the same rule against the stored row.
 */
export function mergeSessionDetails (stored: SessionDetails, incoming: SessionDetails): SessionDetails {
  const start = stored.start_time ?? (
    incoming.start_time !== null && incoming.start_time <= (stored.end_time ?? incoming.end_time ?? incoming.start_time)
      ? incoming.start_time
      : null)
  const end = stored.end_time ?? (
    incoming.end_time !== null && incoming.end_time >= (stored.start_time ?? incoming.start_time ?? incoming.end_time)
      ? incoming.end_time
      : null)
  return {
    device_id: stored.device_id ?? incoming.device_id,
    platform: stored.platform ?? incoming.platform,
    location: stored.location ?? incoming.location,
    start_time: start,
    end_time: end
  }
}

export function detailsOf (event: MetricEvent): SessionDetails {
  return {
    device_id: event.device_id ?? null,
    platform: event.platform ?? null,
    location: event.location ?? null,
    start_time: event.start_time ?? null,
    end_time: event.end_time ?? null
  }
}

/** One row per session, claimed by the first event that names it, keys sorted (lock order). */
export function sessionRows (events: readonly MetricEvent[]): SessionRow[] {
  const bySession = new Map<number, SessionRow>()
  for (const event of events) {
    const row = bySession.get(event.session_id)
    if (row === undefined) {
      bySession.set(event.session_id, { session_id: event.session_id, user_id: event.user_id, ...detailsOf(event) })
    } else if (row.user_id === event.user_id) {
      Object.assign(row, mergeSessionDetails(row, detailsOf(event)))
    }
  }
  return [...bySession.values()].sort((a, b) => a.session_id - b.session_id)
}

/** One row per user from the events given, the latest timestamp winning, keys sorted (lock order). */
export function userRows (events: readonly MetricEvent[]): MetricEvent[] {
  const byUser = new Map<number, MetricEvent>()
  for (const event of events) {
    const seen = byUser.get(event.user_id)
    if (seen === undefined || event.timestamp >= seen.timestamp) byUser.set(event.user_id, event)
  }
  return [...byUser.values()].sort((a, b) => a.user_id - b.user_id)
}
