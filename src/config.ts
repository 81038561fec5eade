import { envSchema } from 'env-schema'
import { Type, type Static } from 'typebox'

export const AckMode = { durable: 'durable', buffered: 'buffered', stream: 'stream' } as const
export type AckMode = typeof AckMode[keyof typeof AckMode]

/**
 * What one process does in stream mode (docs/stream.md): `all` takes requests and writes them,
 * `ingest` only publishes to the stream, `writer` only writes the stream into PostgreSQL.
 */
export const Role = { all: 'all', ingest: 'ingest', writer: 'writer' } as const
export type Role = typeof Role[keyof typeof Role]

/** The span of UTC time each user_metrics partition holds (docs/storage.md). */
export const PartitionInterval = { day: 'day', week: 'week', month: 'month' } as const
export type PartitionInterval = typeof PartitionInterval[keyof typeof PartitionInterval]

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'Unset: start the embedded PostgreSQL' })),
  EMBEDDED_PG_DIR: Type.String({ minLength: 1, default: '.data/postgres' }),
  EMBEDDED_PG_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 5433 }),
  ACK_MODE: Type.Enum(Object.values(AckMode), { default: AckMode.durable }),
  ROLE: Type.Enum(Object.values(Role), { default: Role.all, description: 'all: one process takes requests and writes them; ingest or writer: one half of stream mode (ACK_MODE=stream only)' }),
  NATS_URL: Type.Optional(Type.String({ pattern: '^[^,\\s]+(,[^,\\s]+)*$', description: 'Comma-separated NATS servers (nats://host:4222); required with ACK_MODE=stream' })),
  STREAM_NAME: Type.String({ pattern: '^[A-Za-z0-9_-]+$', default: 'INGEST', description: 'The JetStream stream requests are published to' }),
  STREAM_REPLICAS: Type.Integer({ minimum: 1, maximum: 5, default: 1, description: 'Copies of each message in the NATS cluster; a publish is acknowledged once a majority holds it (3 in a cluster)' }),
  STREAM_MAX_BYTES: Type.Integer({ minimum: 1_024, maximum: 1_099_511_627_776, default: 1_073_741_824, description: 'The stream refuses new messages past this many bytes (503), it never drops old ones' }),
  STREAM_MAX_MESSAGES: Type.Integer({ minimum: 1, maximum: 1_000_000_000, default: 10_000_000, description: 'The stream refuses new messages past this many (503), it never drops old ones' }),
  STREAM_HIGH_WATER: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.8, description: 'Stream fill fraction (messages or bytes) at which an ingest process reports not ready' }),
  STREAM_DUPLICATE_WINDOW_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 120, description: 'JetStream drops a publish whose message id it saw this recently' }),
  PUBLISH_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 5_000, description: 'How long a request waits for the stream to acknowledge it before a 503' }),
  WRITER_ACK_WAIT_SECONDS: Type.Integer({ minimum: 5, maximum: 3_600, default: 30, description: 'A message a writer holds this long without a word is redelivered; writers report progress every third of it' }),
  WRITER_PULL_MESSAGES: Type.Integer({ minimum: 1, maximum: 100_000, default: 1_000, description: 'Messages one pull of a writer asks for at most' }),
  WRITER_PULL_BYTES: Type.Integer({ minimum: 65_536, maximum: 1_073_741_824, default: 16_777_216, description: 'Bytes one pull of a writer aims at: it asks for this over the mean message size, so pulls of large batches bring fewer messages' }),
  RING_CAPACITY: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 100_000 }),
  FLUSH_MAX_ROWS: Type.Integer({ minimum: 1, maximum: 50_000, default: 2_000 }),
  FLUSH_INTERVAL_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 20 }),
  FLUSH_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 2, description: 'Writer lanes: flushes in flight at once, one database connection each. Requests of 50+ events go to their user\'s lane; smaller ones share the first' }),
  ROW_CACHE_ENTRIES: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 100_000, description: 'Sessions, and users, each process remembers as stored so flushes skip writing them again; 0: off' }),
  FLUSH_WHEN_IDLE: Type.Boolean({ default: true }),
  PARTITION_INTERVAL: Type.Enum(Object.values(PartitionInterval), { default: PartitionInterval.day, description: 'The span of time each user_metrics partition holds (UTC)' }),
  PARTITIONS_AHEAD: Type.Integer({ minimum: 1, maximum: 366, default: 3, description: 'Partitions kept created ahead of the current one' }),
  RETENTION_DAYS: Type.Optional(Type.Integer({ minimum: 1, maximum: 36_500, description: 'Metrics older than this are refused at the door and their partitions dropped; unset: kept forever' })),
  REJECTS_RETENTION_DAYS: Type.Integer({ minimum: 0, maximum: 36_500, default: 30, description: 'ingest_rejects rows older than this are deleted; 0: kept forever' }),
  MAINTENANCE_INTERVAL_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 3_600, description: 'How often partitions are created ahead and retention applied (also at start-up)' }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  BATCH_MAX_EVENTS: Type.Integer({ minimum: 1, maximum: 100_000, default: 5_000 }),
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 1_000, maximum: 600_000, default: 30_000, description: 'The whole request (headers and body) must arrive within this, else 408 and close' }),
  HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 1_000, maximum: 600_000, default: 10_000, description: 'The request headers must arrive within this (at most REQUEST_TIMEOUT_MS), else 408 and close' }),
  KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ minimum: 1_000, maximum: 3_600_000, default: 72_000, description: 'An idle keep-alive connection is closed after this; keep it above any proxy\'s idle timeout' }),
  MAX_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'Open client connections at most; more are dropped as they arrive' }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1_024, maximum: 100 * 1024 * 1024, default: 5 * 1024 * 1024 }),
  INGEST_API_KEYS: Type.Optional(Type.String({ pattern: '^[^,\\s]+(,[^,\\s]+)*$', description: 'Comma-separated bearer keys; unset: open' })),
  RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0, description: 'Per key (or per IP without keys); 0: off' }),
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'Serve /metrics on this port instead of PORT' })),
  READY_HIGH_WATER: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.9, description: 'Buffer fill fraction at which /readyz reports not ready' }),
  READY_DB_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 1_000 }),
  RETRY_AFTER_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 1 }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' })
})

export type Config = Readonly<Static<typeof ConfigSchema>>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Reads the configuration from an environment (process.env in production, a plain
 * object in tests). Every bad key is named in one error; the result is frozen.
 */
export function loadConfig (env: Record<string, string | undefined>): Config {
  const data: Record<string, string> = {}
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key]
    // An empty variable (`DATABASE_URL=` in a compose file) means unset, not "the empty string".
    if (value !== undefined && value !== '') data[key] = value
  }
  let config: Static<typeof ConfigSchema>
  try {
    config = envSchema<Static<typeof ConfigSchema>>({
      schema: structuredClone(ConfigSchema),
      data,
      env: false,
      dotenv: false
    })
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${(err as Error).message}`)
  }
  const problems: string[] = []
  if (config.FLUSH_MAX_ROWS > config.RING_CAPACITY) {
    problems.push(`env/FLUSH_MAX_ROWS (${config.FLUSH_MAX_ROWS}) must not exceed RING_CAPACITY (${config.RING_CAPACITY})`)
  }
  if (config.BATCH_MAX_EVENTS > config.RING_CAPACITY) {
    problems.push(`env/BATCH_MAX_EVENTS (${config.BATCH_MAX_EVENTS}) must not exceed RING_CAPACITY (${config.RING_CAPACITY}): a batch must fit in the buffer`)
  }
  if (config.HEADERS_TIMEOUT_MS > config.REQUEST_TIMEOUT_MS) {
    problems.push(`env/HEADERS_TIMEOUT_MS (${config.HEADERS_TIMEOUT_MS}) must not exceed REQUEST_TIMEOUT_MS (${config.REQUEST_TIMEOUT_MS}): the headers are part of the request`)
  }
  if (config.ACK_MODE === AckMode.stream && config.NATS_URL === undefined) {
    problems.push('env/NATS_URL is required with ACK_MODE=stream: the NATS servers holding the stream, e.g. nats://localhost:4222')
  }
  if (config.ROLE !== Role.all && config.ACK_MODE !== AckMode.stream) {
    problems.push(`env/ROLE=${config.ROLE} needs ACK_MODE=stream: only stream mode splits ingest from writers`)
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join(', ')}`)
  return Object.freeze(config)
}
