/**
 * `metrics-ingest/client`: the client for senders (docs/client.md). It imports nothing of the
 * server's runtime but the event schema it validates with.
 */
export { IngestClient } from './client.js'
export type { ClientStats, CloseReport, DropReason, IngestClientOptions, MetricEvent, Rejection, TrackResult } from './client.js'
export { uuidv7 } from './uuid.js'
