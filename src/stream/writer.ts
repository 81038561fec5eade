/**
 * The writer role in ACK_MODE=stream: pulls request messages from the writers' durable consumer
 * into the same buffer and writer as durable mode (lanes, row cache, poison isolation into
 * ingest_rejects), and settles each message by what its flush did — ack after COMMIT, nak with
 * backoff when the database could not take it. Nothing is acked before it is stored, so a writer
 * that dies leaves its messages to be redelivered; the (event_id, timestamp) key absorbs the
 * repeats. Messages held longer than a third of the ack wait report progress, so a long flush or
 * a long outage is not redelivered to another writer meanwhile.
 */
import { performance } from 'node:perf_hooks'
import type { FastifyBaseLogger } from 'fastify'
import { jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream'
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
  /** Messages asked for per pull. */
  pullMessages: number
  ackWaitSeconds: number
  metrics: Metrics
  log: FastifyBaseLogger
}

// A message the database could not take comes back after 100 ms, doubling to 5 s per delivery.
const NAK_BASE_MS = 100
const NAK_CAP_MS = 5_000
// A pull waits this long for messages before the next one; it ends early once full.
const PULL_EXPIRES_MS = 1_000
// Below this share of the buffer free, the writer stops pulling until flushes make room.
const PULL_ROOM_SHARE = 0.5
const ROOM_WAIT_MS = 10
const ERROR_PAUSE_MS = 500
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
    const { stream, streamName, buffer, pullMessages, log } = this.#options
    const js = jetstream(stream.nc)
    while (this.#running) {
      if (buffer.free < buffer.capacity * PULL_ROOM_SHARE) {
        await pause(ROOM_WAIT_MS)
        continue
      }
      try {
        const consumer = await js.consumers.get(streamName, CONSUMER_NAME)
        this.#pull = await consumer.fetch({ max_messages: pullMessages, expires: PULL_EXPIRES_MS })
        for await (const msg of this.#pull) this.#take(msg)
      } catch (err) {
        const folded = this.#throttle.take('pull')
        if (folded !== undefined) log.warn({ err, folded }, 'pulling from the stream failed, retrying')
        if (this.#running) await pause(ERROR_PAUSE_MS)
      } finally {
        this.#pull = undefined
      }
    }
  }

  #take (msg: JsMsg): void {
    const { buffer, metrics, log } = this.#options
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
      receivedAt: message.receivedAt - performance.timeOrigin,
      settle: settlement => { this.#settle(msg, settlement) }
    }
    if (!buffer.push(pending)) {
      // Only a message larger than the room left: it comes back once flushes have made room.
      this.#held.delete(msg)
      msg.nak(nakDelay(msg.info.deliveryCount))
      this.#settled.nak.inc()
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

async function pause (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}
