/**
 * Wiring for ACK_MODE=stream: the NATS connection, the publisher (roles all and ingest), the
 * writer that feeds the ingest plugin's buffer (roles all and writer) and the stream's status.
 * Registered before the ingest plugin, so its onClose runs after the buffer has drained: the
 * last acks go out before the connection closes.
 */
import { hostname } from 'node:os'
import fp from 'fastify-plugin'
import { Role, type Config } from '../config.js'
import type { ReadinessProbe } from '../readiness.js'
import { openStream } from './connection.js'
import { StreamPublisher } from './publisher.js'
import { StreamStatus } from './status.js'
import { StreamWriter } from './writer.js'

export interface Stream {
  /** The routes' intake: undefined in the writer role, which takes no requests. */
  readonly publisher: StreamPublisher | undefined
  readonly status: StreamStatus
  /** What readiness checks in this role. */
  readonly probes: ReadinessProbe[]
}

declare module 'fastify' {
  interface FastifyInstance {
    stream: Stream
  }
}

export const streamPlugin = fp<{ config: Config }>(async (app, { config }) => {
  const { metrics, log } = app
  const role = config.ROLE
  const connection = await openStream(config, log, `metrics-ingest ${role} ${hostname()}`)
  const publisher = role === Role.writer
    ? undefined
    : new StreamPublisher({ stream: connection, streamName: config.STREAM_NAME, timeoutMs: config.PUBLISH_TIMEOUT_MS, retryAfterSeconds: config.RETRY_AFTER_SECONDS, metrics, log })
  const status = new StreamStatus({
    stream: connection,
    streamName: config.STREAM_NAME,
    maxMessages: config.STREAM_MAX_MESSAGES,
    maxBytes: config.STREAM_MAX_BYTES,
    highWater: config.STREAM_HIGH_WATER,
    timeoutMs: config.READY_DB_TIMEOUT_MS,
    metrics
  })
  // A writer takes no requests: the stream's fill is not its readiness, NATS is.
  const probes = role === Role.writer ? [status.natsProbe] : [status.natsProbe, status.fillProbe]
  app.decorate('stream', { publisher, status, probes })

  let writer: StreamWriter | undefined
  if (role !== Role.ingest) {
    // The buffer is the ingest plugin's, registered after this one.
    app.addHook('onReady', async () => {
      writer = new StreamWriter({
        stream: connection,
        streamName: config.STREAM_NAME,
        buffer: app.ingest.buffer,
        pullMessages: config.WRITER_PULL_MESSAGES,
        pullBytes: config.WRITER_PULL_BYTES,
        ackWaitSeconds: config.WRITER_ACK_WAIT_SECONDS,
        metrics,
        log
      })
      writer.start()
    })
  }
  app.addHook('preClose', async () => {
    publisher?.stop()
    await writer?.stop()
  })
  app.addHook('onClose', async () => {
    writer?.release()
    await connection.close()
  })
}, { name: 'stream', dependencies: ['metrics'] })
