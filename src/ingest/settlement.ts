/**
 * What becomes of a submission: the answer at the door (Admission) and, in durable mode, what
 * its flush did (Settlement). Shared by the ingest plugin, the stream publisher, the flusher and
 * the routes.
 */
import type { MetricEvent } from './schema.js'
import type { EventStatus } from './writer.js'

/** What became of a submission once its flush ended. */
export type Settlement =
  | { written: true, statuses: EventStatus[], sqlstates: ReadonlyMap<number, string> }
  | { written: false, failure: 'unavailable' | 'failed' }

/**
 * The door's answer. `queued` without an outcome is an acknowledgement (202): buffered in memory,
 * or held by the stream. The stream's own refusals say whether it is full or out of reach.
 */
export type Admission =
  | { status: 'queued', outcome?: Promise<Settlement> }
  | { status: 'full' }
  | { status: 'closing' }
  | { status: 'stream_full' }
  | { status: 'stream_unavailable' }

/** Where the ingest routes hand events: the buffer (durable, buffered) or the stream (stream). */
export interface Intake {
  /** Takes the events all or none. */
  submit: (events: MetricEvent[]) => Admission | Promise<Admission>
  /** Seconds a refused client should wait before retrying. */
  retryAfter: () => number
}
