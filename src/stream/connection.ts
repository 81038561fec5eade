/**
 * The NATS connection and the JetStream objects every role relies on: the stream requests are
 * published to, and the durable consumer the writers share. Both are created or brought to the
 * configured limits at start-up by whichever process starts first; doing it again is harmless.
 */
import type { FastifyBaseLogger } from 'fastify'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import {
  AckPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, jetstreamManager,
  type ConsumerConfig, type JetStreamManager, type StreamConfig
} from '@nats-io/jetstream'
import type { Config } from '../config.js'

/** The writers' shared durable consumer: each message goes to one writer at a time. */
export const CONSUMER_NAME = 'writers'
const NANOS_PER_SECOND = 1_000_000_000
// JetStream API codes (nats-server errors.json).
const STREAM_NAME_IN_USE = 10058
const CONSUMER_NAME_EXISTS = 10148

export type StreamSettings = Pick<Config,
  'NATS_URL' | 'STREAM_NAME' | 'STREAM_REPLICAS' | 'STREAM_MAX_BYTES' | 'STREAM_MAX_MESSAGES' |
  'STREAM_DUPLICATE_WINDOW_SECONDS' | 'WRITER_ACK_WAIT_SECONDS' | 'BODY_LIMIT_BYTES'>

/**
 * The largest message: a request body may be up to BODY_LIMIT_BYTES, and its message is the
 * events re-serialised, each with an event_id if it came without one (~50 bytes), plus a little
 * framing: a quarter more rather than refuse a request the route accepted.
 */
export function maxMessageBytes (bodyLimitBytes: number): number {
  return Math.ceil(bodyLimitBytes * 1.25)
}

/** The subject requests are published on. */
export function subjectOf (streamName: string): string {
  return `${streamName.toLowerCase()}.requests`
}

/**
 * Work-queue retention (a message is gone once a writer acks it), on disk, and discard-new: a
 * full stream refuses the publish, so the client gets a 503 instead of an older, acknowledged
 * event being dropped in silence (discard-old would do that).
 */
export function streamConfig (settings: StreamSettings): Partial<StreamConfig> & { name: string } {
  return {
    name: settings.STREAM_NAME,
    subjects: [subjectOf(settings.STREAM_NAME)],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    num_replicas: settings.STREAM_REPLICAS,
    max_bytes: settings.STREAM_MAX_BYTES,
    max_msgs: settings.STREAM_MAX_MESSAGES,
    max_msg_size: maxMessageBytes(settings.BODY_LIMIT_BYTES),
    duplicate_window: settings.STREAM_DUPLICATE_WINDOW_SECONDS * NANOS_PER_SECOND
  }
}

/** Explicit acks after COMMIT; redelivered when a writer neither acks nor reports progress in time. */
export function consumerConfig (settings: StreamSettings): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: CONSUMER_NAME,
    ack_policy: AckPolicy.Explicit,
    ack_wait: settings.WRITER_ACK_WAIT_SECONDS * NANOS_PER_SECOND,
    // No max_deliver: an event is never given up on; one the database refuses goes to ingest_rejects.
    max_ack_pending: -1
  }
}

export interface StreamConnection {
  nc: NatsConnection
  jsm: JetStreamManager
  /** False from a disconnect until the client has reconnected. */
  readonly connected: boolean
  close: () => Promise<void>
}

/** Connects (retrying for `connectTimeoutMs`) and keeps reconnecting for ever once connected. */
export async function openStream (settings: StreamSettings, log: FastifyBaseLogger, name: string): Promise<StreamConnection> {
  const servers = settings.NATS_URL!.split(',')
  const nc = await connect({
    servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    timeout: 10_000,
    // By default every request (each publish) builds an Error up front for the stack of a
    // failure it may never have: 11 % of the service's CPU in single-stream (bench --profile).
    noAsyncTraces: true
  })
  let connected = true
  const watchStatus = async (): Promise<void> => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        connected = false
        log.warn({ server: status.server }, 'NATS connection lost: publishing refused with 503 until it is back')
      } else if (status.type === 'reconnect') {
        connected = true
        log.info({ server: status.server }, 'NATS connection back')
      }
    }
  }
  // Ends when the connection closes.
  watchStatus().catch((err: unknown) => { log.error({ err }, 'watching the NATS connection failed') })
  const maxPayload = nc.info?.max_payload ?? 0
  if (maxPayload < maxMessageBytes(settings.BODY_LIMIT_BYTES)) {
    log.warn({ maxPayload, bodyLimitBytes: settings.BODY_LIMIT_BYTES },
      'the NATS server\'s max_payload is below what a request may become as a message: larger batches are refused with 413 (raise max_payload, docs/stream.md)')
  }
  const jsm = await jetstreamManager(nc, { timeout: 10_000 })
  await ensureStream(jsm, settings, log)
  await ensureConsumer(jsm, settings)
  log.info({ servers, stream: settings.STREAM_NAME, replicas: settings.STREAM_REPLICAS }, 'NATS JetStream stream ready')
  return {
    nc,
    jsm,
    get connected () { return connected && !nc.isClosed() },
    close: async () => { if (!nc.isClosed()) await nc.drain() }
  }
}

async function ensureStream (jsm: JetStreamManager, settings: StreamSettings, log: FastifyBaseLogger): Promise<void> {
  const config = streamConfig(settings)
  try {
    await jsm.streams.add(config)
  } catch (err) {
    // It exists (perhaps with other limits): bring it to ours. Retention and storage cannot
    // change on a live stream; the server says so and start-up stops with that message.
    if (!(err instanceof JetStreamApiError && err.code === STREAM_NAME_IN_USE)) throw err
    const { name, ...rest } = config
    await jsm.streams.update(name, rest)
    log.info({ stream: name }, 'stream existed: limits updated to the configuration')
  }
}

async function ensureConsumer (jsm: JetStreamManager, settings: StreamSettings): Promise<void> {
  const config = consumerConfig(settings)
  try {
    await jsm.consumers.add(settings.STREAM_NAME, config)
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === CONSUMER_NAME_EXISTS)) throw err
    const { durable_name: name, ...rest } = config
    await jsm.consumers.update(settings.STREAM_NAME, name, rest)
  }
}
