/**
 * The flush policy: what happens to one batch the ring hands over. Write it (retrying what is
 * worth retrying), count it, and settle every request in it — each with its own slice of the
 * statuses. Time comes from the injected clock, as in the ring.
 */
import { performance } from 'node:perf_hooks'
import type { FastifyBaseLogger } from 'fastify'
import { sleep, wallClockOffset, type Clock } from '../clock.js'
import { AckMode } from '../config.js'
import { classifyFailure, Failure, failureLabel } from '../database/errors.js'
import { LogThrottle } from '../log-throttle.js'
import { RejectReason, type Metrics } from '../metrics.js'
import { DrainRate } from './drain-rate.js'
import type { FlushTrigger } from './ring-buffer.js'
import type { MetricEvent } from './schema.js'
import type { Settlement } from './settlement.js'
import { EventStatus, type BatchResult } from './writer.js'

/** One request's events: a single event, or a whole batch that is written in one transaction. */
export interface Pending {
  events: readonly MetricEvent[]
  /** performance.now() at receipt. */
  receivedAt: number
  /** Durable mode: called once with what became of the events. */
  settle?: (settlement: Settlement) => void
}

export interface FlusherOptions {
  ackMode: AckMode
  /** Writes a batch in one transaction (poison rows isolated); throws when it could not. */
  write: (events: readonly MetricEvent[], receivedAt: readonly number[]) => Promise<BatchResult>
  metrics: Metrics
  log: FastifyBaseLogger
  clock: Clock
}

// Deadlocks and serialization failures clear up at once; a few tries cover them.
const CONTENTION_ATTEMPTS = 3
// Buffered events have been acknowledged, so an unreachable database is waited out:
// 100 ms doubling to 5 s between tries, until it is back or shutdown's deadline passes.
const RETRY_BASE_MS = 100
const RETRY_CAP_MS = 5_000
// An outage fails every flush and fills the buffer; one log line per kind every 10 s says so.
const LOG_EVERY_MS = 10_000
const NO_SQLSTATES: ReadonlyMap<number, string> = new Map()

type Attempt = { ok: true, result: BatchResult } | { ok: false, err: unknown, failure: Failure }

export class Flusher {
  readonly drain: DrainRate
  readonly throttle: LogThrottle
  readonly #options: FlusherOptions
  #giveUpAt = Infinity
  #shuttingDown = false
  #lostOnShutdown = 0

  constructor (options: FlusherOptions) {
    this.#options = options
    const now = (): number => options.clock.now()
    this.drain = new DrainRate(undefined, now)
    this.throttle = new LogThrottle(LOG_EVERY_MS, now)
  }

  /** Acknowledged (buffered) events lost since shutdown began. */
  get lostOnShutdown (): number { return this.#lostOnShutdown }

  /** Shutdown has begun: stop waiting out an outage at `giveUpAt`, and count what is lost from now on. */
  shutDownBy (giveUpAt: number): void {
    this.#shuttingDown = true
    this.#giveUpAt = giveUpAt
  }

  /** Buffered events that never reached a flush before shutdown's deadline. */
  countLost (events: number): void {
    this.#lostOnShutdown += events
  }

  /** The ring's flush callback: never throws; every request in `pending` is settled. */
  readonly flush = async (pending: Pending[], trigger: FlushTrigger): Promise<void> => {
    const { metrics } = this.#options
    const stopTimer = metrics.flushDuration.startTimer()
    const { events, receivedAt } = gather(pending)
    metrics.flushRows.observe(events.length)
    const attempt = await this.#writeWithRetries(events, receivedAt)
    stopTimer()
    if (attempt.ok) {
      this.#countWritten(attempt.result, trigger)
      settleWritten(pending, attempt.result, metrics)
    } else {
      const settlement = this.#countFailed(attempt, events.length, trigger)
      for (const p of pending) p.settle?.(settlement)
    }
  }

  async #writeWithRetries (events: readonly MetricEvent[], receivedAt: readonly number[]): Promise<Attempt> {
    for (let attempt = 1; ; attempt++) {
      try {
        return { ok: true, result: await this.#options.write(events, receivedAt) }
      } catch (err) {
        this.#options.metrics.databaseErrors.inc({ class: failureLabel(err) })
        const failure = classifyFailure(err)
        const pause = this.#retryPause(failure, attempt)
        if (pause === undefined) return { ok: false, err, failure }
        if (pause > 0) {
          const folded = this.throttle.take('flush retry')
          if (folded !== undefined) this.#options.log.warn({ err, rows: events.length, attempt, retryInMs: pause, folded }, 'flush failed, retrying')
          await sleep(this.#options.clock, pause)
        }
      }
    }
  }

  /** How long to wait before the next try, or undefined to give up. */
  #retryPause (failure: Failure, attempt: number): number | undefined {
    if (failure === Failure.contention && attempt < CONTENTION_ATTEMPTS) return 0
    if (this.#options.ackMode !== AckMode.buffered || failure !== Failure.unavailable) return undefined
    const pause = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** (attempt - 1))
    return this.#options.clock.now() + pause < this.#giveUpAt ? pause : undefined
  }

  #countWritten (result: BatchResult, trigger: FlushTrigger): void {
    const { metrics } = this.#options
    this.drain.record(result.statuses.length)
    metrics.flushes.inc({ trigger, outcome: 'ok' })
    metrics.eventsCommitted.inc(result.committed)
    if (result.duplicates > 0) metrics.eventsDuplicate.inc(result.duplicates)
    if (result.conflicts > 0) metrics.eventsRejected.inc({ reason: RejectReason.conflict }, result.conflicts)
    if (result.rejected > 0) metrics.eventsRejected.inc({ reason: RejectReason.poison }, result.rejected)
  }

  /** Counts and logs a batch that was not written; returns what its requests are told. */
  #countFailed ({ err, failure }: Extract<Attempt, { ok: false }>, events: number, trigger: FlushTrigger): Settlement {
    const { metrics, log, ackMode } = this.#options
    metrics.flushes.inc({ trigger, outcome: 'error' })
    const refused = failure === Failure.rejected || failure === Failure.poison
    // In stream mode the events stay in the stream and come back: not rejected, only delayed.
    if (ackMode !== AckMode.stream) metrics.eventsRejected.inc({ reason: refused ? RejectReason.databaseError : RejectReason.databaseUnavailable }, events)
    if (ackMode === AckMode.buffered) {
      // Every loss is logged: these events were acknowledged.
      if (this.#shuttingDown) this.#lostOnShutdown += events
      log.error({ err, lost: events, trigger }, 'flush failed: acknowledged events lost')
    } else {
      const folded = this.throttle.take('flush failed')
      if (folded !== undefined) log.error({ err, rows: events, trigger, folded }, 'flush failed')
    }
    return { written: false, failure: refused ? 'failed' : 'unavailable' }
  }
}

/**
 * The flush's events in request order (a single request's own array as it is), and each one's
 * wall-clock receipt time (kept with any event the database refuses).
 */
function gather (pending: readonly Pending[]): { events: readonly MetricEvent[], receivedAt: number[] } {
  const receivedAt: number[] = []
  const offset = wallClockOffset()
  for (const p of pending) {
    const at = offset + p.receivedAt
    for (let i = 0; i < p.events.length; i++) receivedAt.push(at)
  }
  return { events: pending.length === 1 ? pending[0]!.events : pending.flatMap(p => p.events), receivedAt }
}

/** Hands each request its own slice of the batch's statuses, and records its commit latency. */
function settleWritten (pending: readonly Pending[], result: BatchResult, metrics: Metrics): void {
  const now = performance.now()
  let offset = 0
  for (const p of pending) {
    const end = offset + p.events.length
    const statuses = result.statuses.slice(offset, end)
    const latency = (now - p.receivedAt) / 1000
    for (const status of statuses) if (status === EventStatus.committed) metrics.ackLatency.observe(latency)
    p.settle?.({ written: true, statuses, sqlstates: sqlstatesBetween(result.sqlstates, offset, end) })
    offset = end
  }
}

/** The refused events' SQLSTATEs that fall in [from, to), re-indexed from `from`. */
function sqlstatesBetween (sqlstates: ReadonlyMap<number, string>, from: number, to: number): ReadonlyMap<number, string> {
  // Almost every flush refuses nothing: share one empty map instead of one per request.
  if (sqlstates.size === 0) return NO_SQLSTATES
  const own = new Map<number, string>()
  for (const [index, code] of sqlstates) if (index >= from && index < to) own.set(index - from, code)
  return own
}
