import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import fp from 'fastify-plugin'
import { AckMode, type Config } from '../config.js'
import { classifyFailure, Failure, failureLabel } from '../database/errors.js'
import { RejectReason } from '../metrics.js'
import { RingBuffer, type Clock, type FlushTrigger } from './ring-buffer.js'
import type { MetricEvent } from './schema.js'
import { writeBatch } from './writer.js'

/** What became of an event the buffer took, as the durable route learns it. */
export const Outcome = {
  committed: 'committed',
  conflict: 'conflict',
  unavailable: 'unavailable',
  failed: 'failed'
} as const
export type Outcome = typeof Outcome[keyof typeof Outcome]

export type Admission =
  | { status: 'queued', outcome?: Promise<Outcome> }
  | { status: 'full' }
  | { status: 'closing' }

interface Pending {
  event: MetricEvent
  receivedAt: number
  settle?: (outcome: Outcome) => void
}

export interface Ingest {
  readonly ackMode: AckMode
  readonly buffer: RingBuffer<Pending>
  /** Places an event in the buffer; in durable mode `outcome` settles once its batch is written. */
  submit: (event: MetricEvent) => Admission
}

declare module 'fastify' {
  interface FastifyInstance {
    ingest: Ingest
  }
}

export type IngestOptions = Pick<Config,
  'ACK_MODE' | 'RING_CAPACITY' | 'FLUSH_MAX_ROWS' | 'FLUSH_INTERVAL_MS' | 'FLUSH_CONCURRENCY' |
  'FLUSH_WHEN_IDLE' | 'SHUTDOWN_TIMEOUT_MS'> & { clock?: Clock }

// Deadlocks and serialization failures clear up at once; a few tries cover them.
const CONTENTION_ATTEMPTS = 3
// Buffered events have been acknowledged, so an unreachable database is waited out:
// 100 ms doubling to 5 s between tries, until it is back or shutdown's deadline passes.
const RETRY_BASE_MS = 100
const RETRY_CAP_MS = 5_000

export const ingestPlugin = fp<IngestOptions>(async (app, options) => {
  const { sql, metrics, log } = app
  const ackMode = options.ACK_MODE
  let accepting = true
  let giveUpAt = Infinity

  async function flushBatch (rows: Pending[], trigger: FlushTrigger): Promise<void> {
    const stopTimer = metrics.flushDuration.startTimer()
    metrics.flushRows.observe(rows.length)
    const events = rows.map(row => row.event)
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await writeBatch(sql, events)
        stopTimer()
        metrics.flushes.inc({ trigger, outcome: 'ok' })
        metrics.eventsCommitted.inc(result.committed)
        if (result.conflicts > 0) metrics.eventsRejected.inc({ reason: RejectReason.conflict }, result.conflicts)
        const now = performance.now()
        for (const [i, row] of rows.entries()) {
          const status = result.statuses[i]
          if (status === Outcome.committed) metrics.ackLatency.observe((now - row.receivedAt) / 1000)
          row.settle?.(status ?? Outcome.failed)
        }
        return
      } catch (err) {
        metrics.databaseErrors.inc({ class: failureLabel(err) })
        const failure = classifyFailure(err)
        if (failure === Failure.contention && attempt < CONTENTION_ATTEMPTS) continue
        const pause = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** (attempt - 1))
        if (ackMode === AckMode.buffered && failure !== Failure.rejected && Date.now() + pause < giveUpAt) {
          log.warn({ err, rows: rows.length, attempt, retryInMs: pause }, 'flush failed, retrying')
          await sleep(pause)
          continue
        }
        stopTimer()
        metrics.flushes.inc({ trigger, outcome: 'error' })
        const reason = failure === Failure.rejected ? RejectReason.databaseError : RejectReason.databaseUnavailable
        metrics.eventsRejected.inc({ reason }, rows.length)
        if (ackMode === AckMode.buffered) {
          log.error({ err, lost: rows.length, trigger }, 'flush failed: acknowledged events lost')
        } else {
          log.error({ err, rows: rows.length, trigger }, 'flush failed')
        }
        const outcome = failure === Failure.rejected ? Outcome.failed : Outcome.unavailable
        for (const row of rows) row.settle?.(outcome)
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
    flush: flushBatch,
    onError: err => { log.error({ err }, 'flush threw') },
    ...(options.clock !== undefined ? { clock: options.clock } : {})
  })

  metrics.bufferCapacity.set(buffer.capacity)
  metrics.sources.bufferSize = () => buffer.size

  function submit (event: MetricEvent): Admission {
    if (!accepting) return { status: 'closing' }
    const receivedAt = performance.now()
    if (ackMode === AckMode.buffered) {
      return buffer.push({ event, receivedAt }) ? { status: 'queued' } : { status: 'full' }
    }
    let settle!: (outcome: Outcome) => void
    const outcome = new Promise<Outcome>(resolve => { settle = resolve })
    return buffer.push({ event, receivedAt, settle }) ? { status: 'queued', outcome } : { status: 'full' }
  }

  app.decorate('ingest', { ackMode, buffer, submit })

  // Stop taking events before the server stops taking connections; requests already
  // waiting on a durable commit are answered as their batches are written.
  app.addHook('preClose', async () => {
    accepting = false
    giveUpAt = Date.now() + options.SHUTDOWN_TIMEOUT_MS * 0.8
  })
  app.addHook('onClose', async () => {
    const left = buffer.size
    await buffer.close()
    if (left > 0) log.info({ events: left }, 'buffer drained')
  })
}, { name: 'ingest', dependencies: ['database', 'metrics'] })
