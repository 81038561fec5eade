/**
 * The ingest role's intake in ACK_MODE=stream: each request becomes one message, and the client
 * hears 202 only once JetStream has acknowledged it (stored on a majority of the stream's
 * replicas). A full stream, a lost quorum or an unreachable server is a 503: nothing acknowledged.
 */
import type { FastifyBaseLogger } from 'fastify'
import { JetStreamApiError, jetstream, type JetStreamClient } from '@nats-io/jetstream'
import { ErrorCode, IngestError } from '../errors.js'
import { LogThrottle } from '../log-throttle.js'
import type { MetricEvent } from '../ingest/schema.js'
import type { Admission, Intake } from '../ingest/settlement.js'
import { PublishOutcome, type Metrics } from '../metrics.js'
import { subjectOf, type StreamConnection } from './connection.js'
import { assignEventIds, encodeMessage, messageId } from './message.js'

// JetStream API codes (nats-server errors.json; 10077 and 10054 seen on 2.9.10). A stream at its
// limits refuses with discard-new: 503, retry later.
const STREAM_FULL_CODES = new Set([
  10077, // maximum messages exceeded, maximum bytes exceeded
  10047 // insufficient resources: the server's JetStream storage is full
])
// The message is over the stream's max_msg_size: a retry would be refused alike.
const MESSAGE_TOO_LARGE = 10054
const STREAM_FULL_TEXT = /maximum (messages|bytes) exceeded|insufficient resources/i
const LOG_EVERY_MS = 10_000
// The publish's protocol line and headers (message id) beside the body.
const HEADROOM_BYTES = 1_024

export interface PublisherOptions {
  stream: StreamConnection
  streamName: string
  timeoutMs: number
  retryAfterSeconds: number
  metrics: Metrics
  log: FastifyBaseLogger
}

export class StreamPublisher implements Intake {
  readonly #js: JetStreamClient
  readonly #subject: string
  readonly #options: PublisherOptions
  readonly #throttle = new LogThrottle(LOG_EVERY_MS)
  #accepting = true

  constructor (options: PublisherOptions) {
    this.#options = options
    this.#js = jetstream(options.stream.nc, { timeout: options.timeoutMs })
    this.#subject = subjectOf(options.streamName)
  }

  /** Shutdown has begun: refuse new requests, so none is acknowledged after the connection drains. */
  stop (): void {
    this.#accepting = false
  }

  readonly retryAfter = (): number => this.#options.retryAfterSeconds

  readonly submit = async (events: MetricEvent[]): Promise<Admission> => {
    if (!this.#accepting) return { status: 'closing' }
    const { stream, metrics, timeoutMs } = this.#options
    // Disconnected, the client would queue the publish and we would wait out the timeout.
    if (!stream.connected) return this.#refused(PublishOutcome.unavailable, 0, 'NATS is not connected')
    assignEventIds(events)
    const data = Buffer.from(encodeMessage(events, Date.now()))
    // A message over the server's max_payload can never be published: a retry would fail alike.
    const maxPayload = stream.nc.info?.max_payload ?? Infinity
    if (data.length + HEADROOM_BYTES > maxPayload) throw this.#tooLarge(events.length, data.length, `the NATS server takes at most ${maxPayload} (max_payload)`)
    const started = performance.now()
    try {
      const ack = await this.#js.publish(this.#subject, data, {
        msgID: messageId(events),
        timeout: timeoutMs
      })
      metrics.streamPublishDuration.observe({ outcome: ack.duplicate ? PublishOutcome.duplicate : PublishOutcome.stored }, (performance.now() - started) / 1000)
      return { status: 'queued' }
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === MESSAGE_TOO_LARGE) throw this.#tooLarge(events.length, data.length, err.message)
      const full = err instanceof JetStreamApiError
        ? STREAM_FULL_CODES.has(err.code)
        : STREAM_FULL_TEXT.test((err as Error).message)
      return this.#refused(full ? PublishOutcome.full : PublishOutcome.unavailable, performance.now() - started, err)
    }
  }

  #tooLarge (events: number, bytes: number, limit: string): IngestError {
    return new IngestError(413, ErrorCode.batchTooLarge, `these ${events} events are ${bytes} bytes as one stream message; ${limit}: send fewer events per request`)
  }

  #refused (outcome: typeof PublishOutcome.full | typeof PublishOutcome.unavailable, elapsedMs: number, why: unknown): Admission {
    this.#options.metrics.streamPublishDuration.observe({ outcome }, elapsedMs / 1000)
    const folded = this.#throttle.take(outcome)
    if (folded !== undefined) {
      this.#options.log.warn({ err: why instanceof Error ? why : undefined, problem: typeof why === 'string' ? why : undefined, folded },
        outcome === PublishOutcome.full ? 'stream full: refusing requests with 503' : 'stream did not acknowledge: refusing requests with 503')
    }
    return { status: outcome === PublishOutcome.full ? 'stream_full' : 'stream_unavailable' }
  }
}
