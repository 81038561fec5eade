/**
 * A bounded ring of rows waiting to be written, with the triggers that decide
 * when a batch leaves it. Pure: no fastify, postgres or prom-client here —
 * batching is separate from sending (the OpenTelemetry batchprocessor split).
 */
import { systemClock, unref, type Clock } from '../clock.js'

/** What started a flush; every flush is labelled with one (the OpenTelemetry batchprocessor's habit). */
export const FLUSH_TRIGGERS = ['size', 'time', 'idle', 'close'] as const
export type FlushTrigger = typeof FLUSH_TRIGGERS[number]

export interface RingBufferOptions<T> {
  /** Hard bound on rows held, buffered plus in flight: push() returns false past it. */
  capacity: number
  /** Size trigger, and the most rows one flush takes (an item heavier than this goes alone). */
  maxBatchRows: number
  /**
   * Rows in one item; default 1. An item is never split between flushes, so a group of rows
   * pushed together (a batch request) is written in one transaction.
   */
  weigh?: (item: T) => number
  /** Time trigger, armed by the first row that waits. */
  maxWaitMs: number
  /** Flushes allowed in flight at once (one database connection each). */
  concurrency?: number
  /**
   * Start a flush as soon as a writer is free instead of waiting for a trigger.
   * Under light load a row then costs one write, not maxWaitMs; under heavy load
   * every writer is busy, so batches grow by themselves while rows wait.
   */
  flushWhenIdle?: boolean
  /** Writes one batch. It owns the rows once called; a rejection goes to onError. */
  flush: (rows: T[], trigger: FlushTrigger) => Promise<void>
  onError?: (err: unknown) => void
  clock?: Clock
}

export class RingBuffer<T> {
  readonly capacity: number
  readonly #maxBatchRows: number
  readonly #maxWaitMs: number
  readonly #concurrency: number
  readonly #flushWhenIdle: boolean
  readonly #weigh: (item: T) => number
  readonly #flush: (rows: T[], trigger: FlushTrigger) => Promise<void>
  readonly #onError: (err: unknown) => void
  readonly #clock: Clock

  readonly #slots: Array<T | undefined>
  #head = 0
  /** Items waiting. */
  #length = 0
  /** Rows in the items waiting. */
  #rows = 0
  #inFlight = 0
  #inFlightRows = 0
  #timer: unknown = undefined
  #timeDue = false
  #idlePending = false
  #idleDue = false
  #closed = false
  #closing: Promise<void> | undefined
  #settledWaiters: Array<() => void> = []

  constructor (options: RingBufferOptions<T>) {
    const { capacity, maxBatchRows, maxWaitMs, concurrency = 1 } = options
    positiveInteger('capacity', capacity)
    positiveInteger('maxBatchRows', maxBatchRows)
    positiveInteger('concurrency', concurrency)
    if (!Number.isFinite(maxWaitMs) || maxWaitMs < 0) {
      throw new TypeError(`maxWaitMs must be a finite number >= 0, got ${maxWaitMs}`)
    }
    if (maxBatchRows > capacity) {
      throw new TypeError(`maxBatchRows (${maxBatchRows}) must not exceed capacity (${capacity})`)
    }
    if (typeof options.flush !== 'function') throw new TypeError('flush must be a function')
    this.capacity = capacity
    this.#maxBatchRows = maxBatchRows
    this.#maxWaitMs = maxWaitMs
    this.#concurrency = concurrency
    this.#flushWhenIdle = options.flushWhenIdle ?? false
    this.#weigh = options.weigh ?? (() => 1)
    this.#flush = options.flush
    this.#onError = options.onError ?? (() => {})
    this.#clock = options.clock ?? systemClock
    this.#slots = new Array<T | undefined>(capacity)
  }

  /** Rows waiting for a flush. */
  get buffered (): number { return this.#rows }
  /** Rows held in memory: waiting plus being written. This is what capacity bounds. */
  get size (): number { return this.#rows + this.#inFlightRows }
  /** Room left for new rows. */
  get free (): number { return this.capacity - this.size }
  get flushesInFlight (): number { return this.#inFlight }
  get closed (): boolean { return this.#closed }

  /** Adds an item; false when its rows do not fit or the ring is closed (backpressure, never a throw). */
  push (item: T): boolean {
    const rows = this.#weigh(item)
    if (this.#closed || this.size + rows > this.capacity) return false
    this.#slots[(this.#head + this.#length) % this.capacity] = item
    this.#length++
    this.#rows += rows
    this.#schedule()
    return true
  }

  /** Resolves when nothing is in flight and no flush is about to start. */
  settled (): Promise<void> {
    if (this.#isSettled()) return Promise.resolve()
    return new Promise(resolve => { this.#settledWaiters.push(resolve) })
  }

  /** Stops accepting rows, flushes every buffered row and waits for all flushes. Safe to call twice. */
  close (): Promise<void> {
    if (this.#closing !== undefined) return this.#closing
    this.#closed = true
    this.#clearTimer()
    this.#schedule()
    this.#closing = this.#drained()
    return this.#closing
  }

  async #drained (): Promise<void> {
    while (this.#length > 0 || !this.#isSettled()) await this.settled()
  }

  #isSettled (): boolean {
    return this.#inFlight === 0 && !this.#idlePending && (this.#length === 0 || !this.#canStart())
  }

  /** A flush could start now without a trigger we are still waiting for. */
  #canStart (): boolean {
    return this.#closed || this.#rows >= this.#maxBatchRows || this.#timeDue || this.#flushWhenIdle
  }

  #schedule (): void {
    while (this.#length > 0 && this.#inFlight < this.#concurrency) {
      const trigger = this.#triggerNow()
      if (trigger === undefined) break
      if (trigger === 'idle' && !this.#idleDue) {
        // Defer an idle flush to the end of this I/O phase, so requests that
        // arrived together share one transaction instead of the first going alone.
        if (!this.#idlePending) {
          this.#idlePending = true
          this.#clock.setImmediate(() => {
            this.#idlePending = false
            this.#idleDue = true
            this.#schedule()
            this.#idleDue = false
            this.#notifyIfSettled()
          })
        }
        break
      }
      this.#start(trigger)
    }
    if (this.#length === 0 || this.#closed) {
      this.#clearTimer()
    } else if (this.#timer === undefined && !this.#timeDue) {
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = undefined
        this.#timeDue = true
        this.#schedule()
      }, this.#maxWaitMs)
      // The flush timer never holds the process open: close() flushes what is left.
      unref(this.#timer)
    }
  }

  #triggerNow (): FlushTrigger | undefined {
    if (this.#rows >= this.#maxBatchRows) return 'size'
    if (this.#closed) return 'close'
    if (this.#timeDue) return 'time'
    if (this.#flushWhenIdle) return this.#idleDue || !this.#idlePending ? 'idle' : undefined
    return undefined
  }

  #start (trigger: FlushTrigger): void {
    const items: T[] = []
    let rows = 0
    while (this.#length > 0) {
      const item = this.#slots[this.#head] as T
      const weight = this.#weigh(item)
      if (items.length > 0 && rows + weight > this.#maxBatchRows) break
      items.push(item)
      rows += weight
      this.#slots[this.#head] = undefined
      this.#head = (this.#head + 1) % this.capacity
      this.#length--
    }
    this.#rows -= rows
    this.#inFlight++
    this.#inFlightRows += rows
    if (trigger === 'time') this.#timeDue = false

    let pending: Promise<void>
    try {
      pending = this.#flush(items, trigger)
    } catch (err) {
      pending = Promise.reject(err)
    }
    pending.catch(err => { this.#reportError(err) }).finally(() => {
      this.#inFlight--
      this.#inFlightRows -= rows
      this.#schedule()
      this.#notifyIfSettled()
    })
  }

  #reportError (err: unknown): void {
    try {
      this.#onError(err)
    } catch {
      // An error handler that throws must not wedge the ring: the slot is still released below.
    }
  }

  #notifyIfSettled (): void {
    if (!this.#isSettled()) return
    const waiters = this.#settledWaiters
    this.#settledWaiters = []
    for (const resolve of waiters) resolve()
  }

  #clearTimer (): void {
    if (this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer)
      this.#timer = undefined
    }
  }
}

function positiveInteger (name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`${name} must be a positive integer, got ${value}`)
  }
}
