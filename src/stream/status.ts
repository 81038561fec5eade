/**
 * What the stream looks like from here: its fill against its limits and the writers' lag, read
 * from JetStream on every readiness probe (once a second) and exported as gauges. An ingest
 * process is not ready while NATS is out of reach or the stream is above STREAM_HIGH_WATER, so a
 * load balancer steers clients elsewhere before the stream starts refusing them.
 */
import type { StreamState, Metrics } from '../metrics.js'
import { withinTimeout, type ReadinessProbe } from '../readiness.js'
import { CONSUMER_NAME, type StreamConnection } from './connection.js'

export interface StreamStatusOptions {
  stream: StreamConnection
  streamName: string
  maxMessages: number
  maxBytes: number
  highWater: number
  timeoutMs: number
  metrics: Metrics
}

export class StreamStatus {
  readonly #options: StreamStatusOptions
  #state: StreamState | undefined
  #problem: string | undefined = 'not checked yet'
  #refreshing: Promise<void> | undefined

  constructor (options: StreamStatusOptions) {
    this.#options = options
    options.metrics.streamLimitMessages.set(options.maxMessages)
    options.metrics.streamLimitBytes.set(options.maxBytes)
  }

  get state (): StreamState | undefined { return this.#state }

  /** NATS answers for the stream and its consumer. */
  readonly natsProbe: ReadinessProbe = {
    name: 'nats',
    check: async () => {
      await this.#refresh()
      return this.#problem
    }
  }

  /** The stream holds less than its high-water share of messages and of bytes. */
  readonly fillProbe: ReadinessProbe = {
    name: 'stream',
    check: async () => {
      await this.#refresh()
      const state = this.#state
      if (state === undefined) return 'unknown: no answer from NATS yet'
      const { maxMessages, maxBytes, highWater } = this.#options
      const fill = Math.max(state.messages / maxMessages, state.bytes / maxBytes)
      return fill < highWater
        ? undefined
        : `${state.messages} messages (${state.bytes} bytes) held, at or above ${Math.round(highWater * 100)} % of the stream's limits`
    }
  }

  /** One look at JetStream shared by every probe that asks at once. */
  async #refresh (): Promise<void> {
    this.#refreshing ??= this.#look().finally(() => { this.#refreshing = undefined })
    await this.#refreshing
  }

  async #look (): Promise<void> {
    const { stream, streamName, timeoutMs, metrics } = this.#options
    if (!stream.connected) {
      this.#problem = 'not connected'
      return
    }
    this.#problem = await withinTimeout((async () => {
      const [info, consumer] = await Promise.all([
        stream.jsm.streams.info(streamName),
        stream.jsm.consumers.info(streamName, CONSUMER_NAME)
      ])
      this.#state = {
        messages: info.state.messages,
        bytes: info.state.bytes,
        consumerPending: consumer.num_pending,
        consumerAckPending: consumer.num_ack_pending
      }
      metrics.streamMessages.set(this.#state.messages)
      metrics.streamBytes.set(this.#state.bytes)
      metrics.consumerPending.set(this.#state.consumerPending)
      metrics.consumerAckPending.set(this.#state.consumerAckPending)
      return undefined
    })().catch((err: unknown) => `no answer from JetStream (${(err as Error).message})`), timeoutMs)
  }
}
