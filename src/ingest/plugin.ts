import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import fp from 'fastify-plugin'
import { AckMode, type Config } from '../config.js'
import { classifyFailure, Failure, failureLabel } from '../database/errors.js'
import { LogThrottle } from '../log-throttle.js'
import { RejectReason } from '../metrics.js'
import { RingBuffer, type Clock, type FlushTrigger } from './ring-buffer.js'
import type { MetricEvent } from './schema.js'
import { DrainRate } from './drain-rate.js'
import { writeIsolating } from './isolate.js'
import { EventStatus, recordRejects, writeBatch } from './writer.js'

/** What became of a submission once its flush ended. */
export type Settlement =
  | { written: true, statuses: EventStatus[], sqlstates: ReadonlyMap<number, string> }
  | { written: false, failure: 'unavailable' | 'failed' }

export type Admission =
  | { status: 'queued', outcome?: Promise<Settlement> }
  | { status: 'full' }
  | { status: 'closing' }

/** One request's events: a single event, or a whole batch that is written in one transaction. */
interface Pending {
  events: readonly MetricEvent[]
  receivedAt: number
  settle?: (settlement: Settlement) => void
}

export interface Ingest {
  readonly ackMode: AckMode
  readonly buffer: RingBuffer<Pending>
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
  'FLUSH_WHEN_IDLE' | 'SHUTDOWN_TIMEOUT_MS' | 'RETRY_AFTER_SECONDS'> & { clock?: Clock }

// Deadlocks and serialization failures clear up at once; a few tries cover them.
const CONTENTION_ATTEMPTS = 3
// Buffered events have been acknowledged, so an unreachable database is waited out:
// 100 ms doubling to 5 s between tries, until it is back or shutdown's deadline passes.
const RETRY_BASE_MS = 100
const RETRY_CAP_MS = 5_000
// An outage fails every flush and fills the buffer; one log line per kind every 10 s says so.
const LOG_EVERY_MS = 10_000
const NO_SQLSTATES: ReadonlyMap<number, string> = new Map()

export const ingestPlugin = fp<IngestOptions>(async (app, options) => {
  const { sql, metrics, log } = app
  const ackMode = options.ACK_MODE
  let accepting = true
  let giveUpAt = Infinity
  const throttle = new LogThrottle(LOG_EVERY_MS)
  const drain = new DrainRate()
  let lostOnShutdown = 0
  const isolation = {
    write: async (events: readonly MetricEvent[], receivedAt: readonly number[]) => await writeBatch(sql, events, receivedAt),
    reject: async (rejects: Parameters<typeof recordRejects>[1]) => {
      for (const r of rejects) log.warn({ sqlstate: r.sqlstate, eventId: r.event.event_id, reason: r.message }, 'event refused by the database: kept in ingest_rejects')
      await recordRejects(sql, rejects)
    },
    isPoison: (err: unknown) => classifyFailure(err) === Failure.poison
  }

  async function flushBatch (pending: Pending[], trigger: FlushTrigger): Promise<void> {
    const stopTimer = metrics.flushDuration.startTimer()
    const events = pending.length === 1 ? pending[0]!.events : pending.flatMap(p => p.events)
    // Wall-clock receipt times, kept with any event the database refuses.
    const receivedAt = pending.flatMap(p => p.events.map(() => performance.timeOrigin + p.receivedAt))
    metrics.flushRows.observe(events.length)
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await writeIsolating(isolation, events, receivedAt)
        stopTimer()
        drain.record(events.length)
        metrics.flushes.inc({ trigger, outcome: 'ok' })
        metrics.eventsCommitted.inc(result.committed)
        if (result.duplicates > 0) metrics.eventsDuplicate.inc(result.duplicates)
        if (result.conflicts > 0) metrics.eventsRejected.inc({ reason: RejectReason.conflict }, result.conflicts)
        if (result.rejected > 0) metrics.eventsRejected.inc({ reason: RejectReason.poison }, result.rejected)
        const now = performance.now()
        let offset = 0
        for (const p of pending) {
          const statuses = result.statuses.slice(offset, offset + p.events.length)
          // Almost every flush refuses nothing: share one empty map instead of one per request.
          let sqlstates: ReadonlyMap<number, string> = NO_SQLSTATES
          if (result.sqlstates.size > 0) {
            const own = new Map<number, string>()
            for (const [index, code] of result.sqlstates) {
              if (index >= offset && index < offset + p.events.length) own.set(index - offset, code)
            }
            sqlstates = own
          }
          offset += p.events.length
          const latency = (now - p.receivedAt) / 1000
          for (const status of statuses) if (status === EventStatus.committed) metrics.ackLatency.observe(latency)
          p.settle?.({ written: true, statuses, sqlstates })
        }
        return
      } catch (err) {
        metrics.databaseErrors.inc({ class: failureLabel(err) })
        const failure = classifyFailure(err)
        if (failure === Failure.contention && attempt < CONTENTION_ATTEMPTS) continue
        const pause = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** (attempt - 1))
        if (ackMode === AckMode.buffered && failure === Failure.unavailable && Date.now() + pause < giveUpAt) {
          const folded = throttle.take('flush retry')
          if (folded !== undefined) log.warn({ err, rows: events.length, attempt, retryInMs: pause, folded }, 'flush failed, retrying')
          await sleep(pause)
          continue
        }
        stopTimer()
        metrics.flushes.inc({ trigger, outcome: 'error' })
        const refused = failure === Failure.rejected || failure === Failure.poison
        const reason = refused ? RejectReason.databaseError : RejectReason.databaseUnavailable
        metrics.eventsRejected.inc({ reason }, events.length)
        if (ackMode === AckMode.buffered) {
          // Every loss is logged: these events were acknowledged.
          if (!accepting) lostOnShutdown += events.length
          log.error({ err, lost: events.length, trigger }, 'flush failed: acknowledged events lost')
        } else {
          const folded = throttle.take('flush failed')
          if (folded !== undefined) log.error({ err, rows: events.length, trigger, folded }, 'flush failed')
        }
        const settlement: Settlement = { written: false, failure: refused ? 'failed' : 'unavailable' }
        for (const p of pending) p.settle?.(settlement)
        return
      }
    }
  }

  const buffer = new RingBuffer<Pending>({
    capacity: options.RING_CAPACITY,
    maxBatchRows: options.FLUSH_MAX_ROWS,
    maxWaitMs: options.FLUSH_INTERVAL_MS,
    concurrency: options.FLUSH_CONCURRENCY,
    flushWhenIdle: options.FLUSH_WHEN_IDLE,
    weigh: pending => pending.events.length,
    flush: flushBatch,
    onError: err => { log.error({ err }, 'flush threw') },
    ...(options.clock !== undefined ? { clock: options.clock } : {})
  })

  metrics.bufferCapacity.set(buffer.capacity)
  metrics.sources.bufferSize = () => buffer.size
  metrics.sources.flushesInFlight = () => buffer.flushesInFlight

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
    const folded = throttle.take('buffer full')
    if (folded !== undefined) {
      log.warn({ events, buffered: buffer.size, capacity: buffer.capacity, folded }, 'buffer full: refusing events with 503')
    }
    return { status: 'full' }
  }

  app.decorate('ingest', {
    ackMode,
    buffer,
    submit,
    retryAfter: () => drain.retryAfter(buffer.size, options.RETRY_AFTER_SECONDS),
    get lostOnShutdown () { return lostOnShutdown }
  })

  // Stop taking events before the server stops taking connections; requests already
  // waiting on a durable commit are answered as their batches are written.
  app.addHook('preClose', async () => {
    accepting = false
    giveUpAt = Date.now() + options.SHUTDOWN_TIMEOUT_MS * 0.8
  })
  app.addHook('onClose', async () => {
    const left = buffer.size
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<'deadline'>(resolve => {
      timer = setTimeout(() => { resolve('deadline') }, Math.max(0, giveUpAt - Date.now()))
    })
    const ended = await Promise.race([buffer.close().then(() => 'drained' as const), deadline])
    clearTimeout(timer)
    if (ended === 'drained') {
      if (left > 0) log.info({ events: left }, 'buffer drained')
      return
    }
    // The database did not take the rest in time. Durable clients of these events got no 200;
    // buffered ones got a 202, so those events are lost: say how many.
    if (ackMode === AckMode.buffered) {
      lostOnShutdown += buffer.size
      log.error({ lost: buffer.size }, 'shutdown deadline passed: acknowledged buffered events lost')
    } else {
      log.warn({ unacknowledged: buffer.size }, 'shutdown deadline passed: events not written, their clients got no 200')
    }
  })
}, { name: 'ingest', dependencies: ['database', 'metrics'] })
