/**
 * Every metric the service exports, on the app's own Registry (the global one throws
 * "already registered" the second time a test builds the app). Names follow Prometheus
 * conventions: base units, `_total` only on counters, no per-user or per-session labels.
 */
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { noLookups, type RowCacheLookups } from './ingest/known-rows.js'
import { FLUSH_TRIGGERS } from './ingest/ring-buffer.js'

export const RejectReason = {
  validation: 'validation',
  auth: 'auth',
  rateLimited: 'rate_limited',
  bufferFull: 'buffer_full',
  shuttingDown: 'shutting_down',
  conflict: 'conflict',
  databaseUnavailable: 'database_unavailable',
  databaseError: 'database_error',
  poison: 'poison',
  beyondRetention: 'beyond_retention',
  streamFull: 'stream_full',
  streamUnavailable: 'stream_unavailable'
} as const
export type RejectReason = typeof RejectReason[keyof typeof RejectReason]

const OUTCOMES = ['ok', 'error'] as const
/** How a publish to the stream ended (ACK_MODE=stream). */
export const PublishOutcome = { stored: 'stored', duplicate: 'duplicate', full: 'full', unavailable: 'unavailable' } as const
export type PublishOutcome = typeof PublishOutcome[keyof typeof PublishOutcome]
/** How a writer settled a stream message: acked after COMMIT, nak'ed for redelivery, or removed as unreadable. */
export const MessageSettlement = { ack: 'ack', nak: 'nak', unreadable: 'unreadable' } as const
export type MessageSettlement = typeof MessageSettlement[keyof typeof MessageSettlement]

/** When a user_metrics partition was created: by maintenance, or for a flush that needed it. */
export const PartitionCreation = { ahead: 'ahead', onDemand: 'on_demand' } as const

// For a service whose p99 is tens of milliseconds: fine steps up to 100 ms, coarse past it.
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** What the gauges read at scrape time; the plugins that own the state point these at it. */
export interface MetricSources {
  bufferSize: () => number
  bufferHighWater: () => number
  flushesInFlight: () => number
  ready: () => boolean
  httpConnections: () => number
  /** The row cache's running totals: counted there as plain numbers (two lookups an event), copied here at scrape time. */
  rowCacheLookups: () => Readonly<RowCacheLookups>
}

/** What the last look at the stream and its consumer found (ACK_MODE=stream). */
export interface StreamState {
  messages: number
  bytes: number
  /** Messages no writer has been given yet. */
  consumerPending: number
  /** Messages given to writers and not yet acknowledged. */
  consumerAckPending: number
}

export type Metrics = ReturnType<typeof createMetrics>

export function createMetrics () {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  // prom-client's handle/request/resource totals are gauges named *_total, which `promtool check
  // metrics` rejects; the per-type nodejs_active_* gauges beside them carry the same numbers.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name)
  }
  const registers = [registry]
  const sources: MetricSources = {
    bufferSize: () => 0,
    bufferHighWater: () => 0,
    flushesInFlight: () => 0,
    ready: () => false,
    httpConnections: () => 0,
    rowCacheLookups: noLookups
  }

  const metrics = {
    registry,
    sources,
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route, method and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: LATENCY_BUCKETS,
      registers
    }),
    eventsReceived: new Counter({
      name: 'ingest_events_received_total',
      help: 'Events that reached an ingest route, valid or not',
      registers
    }),
    eventsAccepted: new Counter({
      name: 'ingest_events_accepted_total',
      help: 'Events placed in the buffer',
      registers
    }),
    eventsCommitted: new Counter({
      name: 'ingest_events_committed_total',
      help: 'Events whose metric row was committed',
      registers
    }),
    eventsDuplicate: new Counter({
      name: 'ingest_events_duplicate_total',
      help: 'Events acknowledged without being stored again: their event_id was already stored',
      registers
    }),
    eventsRejected: new Counter({
      name: 'ingest_events_rejected_total',
      help: 'Events refused or dropped, by reason',
      labelNames: ['reason'] as const,
      registers
    }),
    ackLatency: new Histogram({
      name: 'ingest_event_commit_latency_seconds',
      help: 'Time from receipt of an event to the commit of its batch',
      buckets: LATENCY_BUCKETS,
      registers
    }),
    flushes: new Counter({
      name: 'ingest_flushes_total',
      help: 'Flushes by what triggered them and how they ended',
      labelNames: ['trigger', 'outcome'] as const,
      registers
    }),
    flushDuration: new Histogram({
      name: 'ingest_flush_duration_seconds',
      help: 'Time to write one batch, retries included',
      buckets: LATENCY_BUCKETS,
      registers
    }),
    flushRows: new Histogram({
      name: 'ingest_flush_rows',
      help: 'Events per flush',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers
    }),
    flushesInFlight: new Gauge({
      name: 'ingest_flushes_in_flight',
      help: 'Transactions being written now (at most FLUSH_CONCURRENCY)',
      registers,
      collect () { this.set(sources.flushesInFlight()) }
    }),
    bufferEvents: new Gauge({
      name: 'ingest_buffer_events',
      help: 'Events held in memory, waiting or being written',
      registers,
      collect () { this.set(sources.bufferSize()) }
    }),
    bufferCapacity: new Gauge({
      name: 'ingest_buffer_capacity_events',
      help: 'The most events the buffer holds before refusing with 503 (RING_CAPACITY)',
      registers
    }),
    bufferHighWater: new Gauge({
      name: 'ingest_buffer_high_water_events',
      help: 'Buffer level at and above which /readyz reports not ready, so load balancers steer away',
      registers,
      collect () { this.set(sources.bufferHighWater()) }
    }),
    ready: new Gauge({
      name: 'ingest_ready',
      help: '1 while /readyz would answer 200: database reachable, buffer below its high-water mark, not shutting down',
      registers,
      collect () { this.set(sources.ready() ? 1 : 0) }
    }),
    rowCacheLookups: new Counter({
      name: 'ingest_row_cache_lookups_total',
      help: 'Lookups of the sessions and users a process knows are stored (ROW_CACHE_ENTRIES): a hit is a row a flush need not write',
      labelNames: ['table', 'result'] as const,
      registers,
      collect () {
        const totals = sources.rowCacheLookups()
        this.reset()
        for (const table of ['sessions', 'users'] as const) {
          this.inc({ table, result: 'hit' }, totals[table].hit)
          this.inc({ table, result: 'miss' }, totals[table].miss)
        }
      }
    }),
    partitionsCreated: new Counter({
      name: 'ingest_partitions_created_total',
      help: 'user_metrics partitions this process created: ahead of time, or on demand for a timestamp that had none',
      labelNames: ['when'] as const,
      registers
    }),
    partitionsDropped: new Counter({
      name: 'ingest_partitions_dropped_total',
      help: 'user_metrics partitions dropped by retention (RETENTION_DAYS)',
      registers
    }),
    rejectsPurged: new Counter({
      name: 'ingest_rejects_purged_total',
      help: 'ingest_rejects rows deleted by retention (REJECTS_RETENTION_DAYS)',
      registers
    }),
    maintenanceRuns: new Counter({
      name: 'ingest_maintenance_runs_total',
      help: 'Storage maintenance runs (partitions ahead, retention), by outcome',
      labelNames: ['outcome'] as const,
      registers
    }),
    partitions: new Gauge({
      name: 'ingest_partitions',
      help: 'user_metrics partitions, as of the last maintenance run',
      registers
    }),
    httpConnections: new Gauge({
      name: 'ingest_http_connections',
      help: 'Client connections open now (at most MAX_CONNECTIONS)',
      registers,
      collect () { this.set(sources.httpConnections()) }
    }),
    connectionsClosed: new Counter({
      name: 'ingest_http_connections_closed_total',
      help: 'Client connections the service closed on its own, by reason: request_timeout (408: headers or body too slow), header_overflow (431), bad_request (400: malformed HTTP), max_connections (dropped on arrival)',
      labelNames: ['reason'] as const,
      registers
    }),
    streamPublishDuration: new Histogram({
      name: 'ingest_stream_publish_duration_seconds',
      help: 'Time from publishing a request to the stream to its acknowledgement (ACK_MODE=stream), by outcome',
      labelNames: ['outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers
    }),
    streamMessages: new Gauge({
      name: 'ingest_stream_messages',
      help: 'Messages held in the stream: acknowledged to clients, not yet written and acked by a writer',
      registers
    }),
    streamBytes: new Gauge({
      name: 'ingest_stream_bytes',
      help: 'Bytes held in the stream',
      registers
    }),
    streamLimitMessages: new Gauge({
      name: 'ingest_stream_limit_messages',
      help: 'The stream refuses publishes past this many messages (STREAM_MAX_MESSAGES)',
      registers
    }),
    streamLimitBytes: new Gauge({
      name: 'ingest_stream_limit_bytes',
      help: 'The stream refuses publishes past this many bytes (STREAM_MAX_BYTES)',
      registers
    }),
    consumerPending: new Gauge({
      name: 'ingest_stream_consumer_pending_messages',
      help: 'Consumer lag: messages in the stream no writer has been given yet',
      registers
    }),
    consumerAckPending: new Gauge({
      name: 'ingest_stream_consumer_ack_pending_messages',
      help: 'Messages given to writers and not yet acknowledged',
      registers
    }),
    streamRedeliveries: new Counter({
      name: 'ingest_stream_redeliveries_total',
      help: 'Messages this writer received that had been delivered before (a writer died, timed out or nak\'ed them)',
      registers
    }),
    streamMessagesSettled: new Counter({
      name: 'ingest_stream_messages_settled_total',
      help: 'Stream messages this writer settled: ack after COMMIT, nak to be redelivered later, unreadable (logged whole and removed: not something an ingest process publishes)',
      labelNames: ['settlement'] as const,
      registers
    }),
    databaseErrors: new Counter({
      name: 'ingest_database_errors_total',
      help: 'Failed flush attempts, by SQLSTATE class (or client error code)',
      labelNames: ['class'] as const,
      registers
    })
  }

  // A labelled series exists only after its first inc(); one that first appears at 1 shows no
  // increase() to an alert. Start the series alerts watch at 0.
  for (const trigger of FLUSH_TRIGGERS) for (const outcome of OUTCOMES) metrics.flushes.inc({ trigger, outcome }, 0)
  for (const reason of Object.values(RejectReason)) metrics.eventsRejected.inc({ reason }, 0)
  for (const outcome of OUTCOMES) metrics.maintenanceRuns.inc({ outcome }, 0)
  for (const when of Object.values(PartitionCreation)) metrics.partitionsCreated.inc({ when }, 0)
  for (const settlement of Object.values(MessageSettlement)) metrics.streamMessagesSettled.inc({ settlement }, 0)
  return metrics
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

export const metricsPlugin = fp(async app => {
  app.decorate('metrics', createMetrics())
}, { name: 'metrics' })
