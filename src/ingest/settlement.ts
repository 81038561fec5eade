/**
 * What becomes of a submission: the buffer's answer at the door (Admission) and, in durable
 * mode, what its flush did (Settlement). Shared by the ingest plugin, the flusher and the routes.
 */
import type { EventStatus } from './writer.js'

/** What became of a submission once its flush ended. */
export type Settlement =
  | { written: true, statuses: EventStatus[], sqlstates: ReadonlyMap<number, string> }
  | { written: false, failure: 'unavailable' | 'failed' }

export type Admission =
  | { status: 'queued', outcome?: Promise<Settlement> }
  | { status: 'full' }
  | { status: 'closing' }
