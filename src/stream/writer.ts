/**
 * The writer role in ACK_MODE=stream: pulls request messages from the writers' durable consumer
 * into the same buffer and writer as durable mode (lanes, row cache, poison isolation into
 * ingest_rejects), and settles each message by what its flush did — ack after COMMIT, nak with
 * backoff when the database could not take it. Nothing is acked before it is stored, so a writer
 * that dies leaves its messages to be redelivered; the (event_id, timestamp) key absorbs the
 * repeats. Messages held longer than a third of the ack wait report progress, so a long flush or
 * a long outage is not redelivered to another writer meanwhile.
 */
import { setTimeout as pause } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import { jetstream, type Consumer, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream'
import { wallToMonotonic } from '../clock.js'
import { LogThrottle } from '../log-throttle.js'
import type { Pending } from '../ingest/flusher.js'
import type { Settlement } from '../ingest/settlement.js'
import { MessageSettlement, type Metrics } from '../metrics.js'
import { CONSUMER_NAME, type StreamConnection } from './connection.js'
import { decodeMessage } from './message.js'

/** The buffer the writer feeds: the ingest plugin's lanes. */
export interface WriterBuffer {
  readonly capacity: number
  readonly free: number
  push: (item: Pending) => boolean
}

export interface StreamWriterOptions {
  stream: StreamConnection
  streamName: string
  buffer: WriterBuffer
  /** Messages asked for per pull at most. */
  pullMessages: number
  /**
   * Bytes a pull aims at: it asks for this over the mean message size seen so far (at most
   * pullMessages), so a stream of large batches is pulled a few messages at a time. (A pull's own
   * max_bytes would bound it exactly, but nats-server 2.9 delivers nothing to such a pull when a
   * backlog is waiting: measured, every one ends in missed heartbeats.)
   */
  pullBytes: number
  ackWaitSeconds: number
  metrics: Metrics
  log: FastifyBaseLogger
}

// A message the database could not take comes back after 100 ms, doubling to 5 s per delivery.
const NAK_BASE_MS = 100
const NAK_CAP_MS = 5_000
// A pull lasts this long at most (messages are taken as they arrive); it ends early once full.
// Its idle heartbeat is half of it: shorter pulls made a busy event loop report missed heartbeats.
const PULL_EXPIRES_MS = 5_000
// Below this share of the buffer free, the writer stops pulling until flushes make room.
const PULL_ROOM_SHARE = 0.5
const ROOM_WAIT_MS = 10
const ERROR_PAUSE_MS = 200
const INITIAL_MEAN_MESSAGE_BYTES = 1_048_576
// The running mean of message sizes follows the last ~20 messages.
const MEAN_WEIGHT = 0.05
const LOG_EVERY_MS = 10_000
const UNREADABLE_LOGGED_CHARS = 4_096

/** The pause before a message that failed on its `deliveryCount`th delivery comes back. */
export function nakDelay (deliveryCount: number): number {
  return Math.min(NAK_CAP_MS, NAK_BASE_MS * 2 ** Math.max(0, deliveryCount - 1))
}

export class StreamWriter {
  readonly #options: StreamWriterOptions
  readonly #held = new Set<JsMsg>()
  readonly #throttle = new LogThrottle(LOG_EVERY_MS)
  readonly #settled: Record<MessageSettlement, { inc: () => void }>
  #running = false
  #loop: Promise<void> = Promise.resolve()
  #pull: ConsumerMessages | undefined
  #progress: NodeJS.Timeout | undefined
  // Until messages have been seen, assume large ones: the first pull asks for few.
  #meanMessageBytes = INITIAL_MEAN_MESSAGE_BYTES

  constructor (options: StreamWriterOptions) {
    this.#options = options
    const { streamMessagesSettled } = options.metrics
    this.#settled = {
      ack: streamMessagesSettled.labels(MessageSettlement.ack),
      nak: streamMessagesSettled.labels(MessageSettlement.nak),
      unreadable: streamMessagesSettled.labels(MessageSettlement.unreadable)
    }
  }

  /** Messages taken from the stream and not yet settled. */
  get held (): number { return this.#held.size }

  start (): void {
    this.#running = true
    this.#loop = this.#pullLoop()
    this.#progress = setInterval(() => { for (const msg of this.#held) msg.working() }, this.#options.ackWaitSeconds * 1000 / 3)
  }

  /** Stops pulling; what is already held is still written and settled. */
  async stop (): Promise<void> {
    this.#running = false
    this.#pull?.stop()
    await this.#loop
  }

  /**
   * Shutdown's deadline: every message still held goes back to the stream at once for another
   * writer, instead of after the ack wait.
   */
  release (): void {
    clearInterval(this.#progress)
    for (const msg of this.#held) {
      msg.nak()
      this.#settled.nak.inc()
    }
    this.#held.clear()
  }

  async #pullLoop (): Promise<void> {
    const { stream, streamName, buffer, log } = this.#options
    const js = jetstream(stream.nc)
    let consumer: Consumer | undefined
    while (this.#running) {
      if (buffer.free < buffer.capacity * PULL_ROOM_SHARE) {
        await pause(ROOM_WAIT_MS)
        continue
      }
      try {
        consumer ??= await js.consumers.get(streamName, CONSUMER_NAME)
        this.#pull = await consumer.fetch({ max_messages: this.#pullSize(), expires: PULL_EXPIRES_MS })
        for await (const msg of this.#pull) await this.#take(msg)
      } catch (err) {
        consumer = undefined
        const folded = this.#throttle.take('pull')
        if (folded !== undefined) log.warn({ err, folded }, 'pulling from the stream failed, retrying')
        if (this.#running) await pause(ERROR_PAUSE_MS)
      } finally {
        this.#pull = undefined
      }
    }
  }

  /** Messages to ask for: the byte aim over the mean message size, within [1, pullMessages]. */
  #pullSize (): number {
    const { pullBytes, pullMessages } = this.#options
    return Math.max(1, Math.min(pullMessages, Math.floor(pullBytes / this.#meanMessageBytes)))
  }

  async #take (msg: JsMsg): Promise<void> {
    const { buffer, metrics, log } = this.#options
    this.#meanMessageBytes += (msg.data.length - this.#meanMessageBytes) * MEAN_WEIGHT
    if (msg.info.deliveryCount > 1) metrics.streamRedeliveries.inc()
    const message = decodeMessage(msg.string())
    if ('problem' in message) {
      // Not something an ingest process publishes: it can never be written, and redelivering it
      // would go on for ever. The log keeps it (a term would leave it in a work-queue stream on
      // nats-server 2.9, so it is acked).
      log.error({ seq: msg.seq, problem: message.problem, data: msg.string().slice(0, UNREADABLE_LOGGED_CHARS) }, 'unreadable stream message removed')
      msg.ack()
      this.#settled.unreadable.inc()
      return
    }
    this.#held.add(msg)
    const pending: Pending = {
      events: message.events,
      receivedAt: wallToMonotonic(message.receivedAt),
      settle: settlement => { this.#settle(msg, settlement) }
    }
    // No room: wait for flushes to make some (the message is held, so it reports progress), and
    // pull nothing more meanwhile. Every message fits an empty buffer: BATCH_MAX_EVENTS ≤ RING_CAPACITY.
    while (!buffer.push(pending)) {
      if (!this.#running) {
        this.#held.delete(msg)
        msg.nak()
        this.#settled.nak.inc()
        return
      }
      await pause(ROOM_WAIT_MS)
    }
  }

  #settle (msg: JsMsg, settlement: Settlement): void {
    // Released at shutdown's deadline: the message is already back in the stream.
    if (!this.#held.delete(msg)) return
    if (settlement.written) {
      msg.ack()
      this.#settled.ack.inc()
    } else {
      msg.nak(nakDelay(msg.info.deliveryCount))
      this.#settled.nak.inc()
    }
  }
}
