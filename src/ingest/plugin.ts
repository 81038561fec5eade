/**
 * Wiring for the ingest path: the ring, the flusher that writes what it hands over, admission
 * at the door and the shutdown deadline. The policies live in their own files.
 */
import { performance } from 'node:perf_hooks'
import fp from 'fastify-plugin'
import { systemClock, type Clock } from '../clock.js'
import { AckMode, type Config } from '../config.js'
import { classifyFailure, Failure } from '../database/errors.js'
import { Flusher, type Pending } from './flusher.js'
import { writeIsolating } from './isolate.js'
import { knownRowsCache } from './known-rows.js'
import { Lanes } from './lanes.js'
import type { MetricEvent } from './schema.js'
import type { Admission, Intake, Settlement } from './settlement.js'
import { closeBy } from './shutdown.js'
import { recordRejects, writeBatch, type Reject } from './writer.js'

/**
 * The buffer and its writers. In durable and buffered mode it is also the routes' intake; in
 * stream mode the stream's writer feeds it instead (src/stream/writer.ts).
 */
export interface Ingest extends Intake {
  readonly ackMode: AckMode
  readonly buffer: Lanes<Pending>
  /**
   * Places events in the buffer, all or none. In durable mode `outcome` settles once the
   * transaction holding them has ended.
   */
  submit: (events: readonly MetricEvent[]) => Admission
  /** Seconds a refused client should wait: the buffer's depth over its measured drain rate. */
  retryAfter: () => number
  /** Events still buffered when shutdown's deadline passed (buffered mode: acknowledged, lost). */
  readonly lostOnShutdown: number
}

declare module 'fastify' {
  interface FastifyInstance {
    ingest: Ingest
  }
}

export type IngestOptions = Pick<Config,
  'ACK_MODE' | 'RING_CAPACITY' | 'FLUSH_MAX_ROWS' | 'FLUSH_INTERVAL_MS' | 'FLUSH_CONCURRENCY' |
  'FLUSH_WHEN_IDLE' | 'SHUTDOWN_TIMEOUT_MS' | 'RETRY_AFTER_SECONDS' | 'ROW_CACHE_ENTRIES'> & { clock?: Clock }

// Requests of fewer events share the first lane (lanes.ts). A flush's fixed cost — a round trip,
// a commit, a WAL flush: ~0.6 ms of PostgreSQL's CPU and ~0.5 ms of ours — is that of some 20
// rows, so a request is worth a flush in parallel only at a few times that; single events gather.
const SPREAD_FROM_EVENTS = 50

// Flushes still retrying a lost database stop at 80 % of the shutdown timeout, leaving the rest
// to answer their clients and close the pool.
const RETRY_SHARE_OF_SHUTDOWN = 0.8

export const ingestPlugin = fp<IngestOptions>(async (app, options) => {
  const { sql, metrics, log } = app
  const clock = options.clock ?? systemClock
  const ackMode = options.ACK_MODE
  let accepting = true
  const known = knownRowsCache(options.ROW_CACHE_ENTRIES)

  const flusher = new Flusher({
    ackMode,
    metrics,
    log,
    clock,
    write: async (events, receivedAt) => await writeIsolating({
      write: async (some, at) => await writeBatch(sql, some, at, known, app.storage.makePartitions),
      reject: async (rejects: Reject[]) => {
        for (const r of rejects) log.warn({ sqlstate: r.sqlstate, eventId: r.event.event_id, reason: r.message }, 'event refused by the database: kept in ingest_rejects')
        await recordRejects(sql, rejects)
      },
      isPoison: err => classifyFailure(err) === Failure.poison
    }, events, receivedAt)
  })

  const buffer = new Lanes<Pending>({
    lanes: options.FLUSH_CONCURRENCY,
    // An empty batch has no user; it writes nothing, any lane will do.
    keyOf: pending => pending.events[0]?.user_id ?? 0,
    spreadFrom: SPREAD_FROM_EVENTS,
    capacity: options.RING_CAPACITY,
    maxBatchRows: options.FLUSH_MAX_ROWS,
    maxWaitMs: options.FLUSH_INTERVAL_MS,
    flushWhenIdle: options.FLUSH_WHEN_IDLE,
    weigh: pending => pending.events.length,
    flush: flusher.flush,
    onError: err => { log.error({ err }, 'flush threw') },
    clock
  })

  metrics.bufferCapacity.set(buffer.capacity)
  metrics.sources.bufferSize = () => buffer.size
  metrics.sources.flushesInFlight = () => buffer.flushesInFlight
  metrics.sources.rowCacheLookups = () => known.lookups

  function submit (events: readonly MetricEvent[]): Admission {
    if (!accepting) return { status: 'closing' }
    const receivedAt = performance.now()
    if (ackMode === AckMode.buffered) {
      return buffer.push({ events, receivedAt }) ? { status: 'queued' } : full(events.length)
    }
    let settle!: (settlement: Settlement) => void
    const outcome = new Promise<Settlement>(resolve => { settle = resolve })
    return buffer.push({ events, receivedAt, settle }) ? { status: 'queued', outcome } : full(events.length)
  }

  function full (events: number): Admission {
    const folded = flusher.throttle.take('buffer full')
    if (folded !== undefined) {
      log.warn({ events, buffered: buffer.size, capacity: buffer.capacity, folded }, 'buffer full: refusing events with 503')
    }
    return { status: 'full' }
  }

  app.decorate('ingest', {
    ackMode,
    buffer,
    submit,
    retryAfter: () => flusher.drain.retryAfter(buffer.size, options.RETRY_AFTER_SECONDS),
    get lostOnShutdown () { return flusher.lostOnShutdown }
  })

  // Stop taking events before the server stops taking connections; requests already
  // waiting on a durable commit are answered as their batches are written.
  let giveUpAt = Infinity
  app.addHook('preClose', async () => {
    accepting = false
    giveUpAt = clock.now() + options.SHUTDOWN_TIMEOUT_MS * RETRY_SHARE_OF_SHUTDOWN
    flusher.shutDownBy(giveUpAt)
  })
  app.addHook('onClose', async () => {
    const left = buffer.size
    if (await closeBy(buffer, giveUpAt, clock) === 'drained') {
      if (left > 0) log.info({ events: left }, 'buffer drained')
      return
    }
    // The database did not take the rest in time. Durable clients of these events got no 200;
    // buffered ones got a 202, so those events are lost: say how many.
    if (ackMode === AckMode.buffered) {
      flusher.countLost(buffer.size)
      log.error({ lost: buffer.size }, 'shutdown deadline passed: acknowledged buffered events lost')
    } else if (ackMode === AckMode.stream) {
      log.warn({ unwritten: buffer.size }, 'shutdown deadline passed: events not written stay in the stream for another writer')
    } else {
      log.warn({ unacknowledged: buffer.size }, 'shutdown deadline passed: events not written, their clients got no 200')
    }
  })
}, { name: 'ingest', dependencies: ['database', 'metrics', 'storage'] })
