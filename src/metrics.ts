/**
 * Every metric the service exports, on the app's own Registry (the global one throws
 * "already registered" the second time a test builds the app).
 */
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export const RejectReason = {
  validation: 'validation',
  auth: 'auth',
  rateLimited: 'rate_limited',
  bufferFull: 'buffer_full',
  shuttingDown: 'shutting_down',
  conflict: 'conflict',
  databaseUnavailable: 'database_unavailable',
  databaseError: 'database_error'
} as const
export type RejectReason = typeof RejectReason[keyof typeof RejectReason]

export type Metrics = ReturnType<typeof createMetrics>

export function createMetrics () {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  // What the gauges read at scrape time; the ingest plugin points these at its buffer.
  const sources = { bufferSize: () => 0 }

  return {
    registry,
    sources,
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
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
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
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers
    }),
    flushRows: new Histogram({
      name: 'ingest_flush_rows',
      help: 'Events per flush',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
      registers
    }),
    bufferEvents: new Gauge({
      name: 'ingest_buffer_events',
      help: 'Events held in memory, waiting or being written',
      registers,
      collect () { this.set(sources.bufferSize()) }
    }),
    bufferCapacity: new Gauge({
      name: 'ingest_buffer_capacity_events',
      help: 'The most events the buffer holds before refusing with 503',
      registers
    }),
    databaseErrors: new Counter({
      name: 'ingest_database_errors_total',
      help: 'Failed flush attempts, by SQLSTATE class (or client error code)',
      labelNames: ['class'] as const,
      registers
    })
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

export const metricsPlugin = fp(async app => {
  app.decorate('metrics', createMetrics())
}, { name: 'metrics' })
