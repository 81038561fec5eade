import { envSchema } from 'env-schema'
import { Type, type Static } from 'typebox'

export const AckMode = { durable: 'durable', buffered: 'buffered' } as const
export type AckMode = typeof AckMode[keyof typeof AckMode]

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'Unset: start the embedded PostgreSQL' })),
  EMBEDDED_PG_DIR: Type.String({ minLength: 1, default: '.data/postgres' }),
  EMBEDDED_PG_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 5433 }),
  ACK_MODE: Type.Enum(Object.values(AckMode), { default: AckMode.durable }),
  RING_CAPACITY: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 100_000 }),
  FLUSH_MAX_ROWS: Type.Integer({ minimum: 1, maximum: 50_000, default: 2_000 }),
  FLUSH_INTERVAL_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 20 }),
  FLUSH_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 2 }),
  FLUSH_WHEN_IDLE: Type.Boolean({ default: true }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
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
  if (config.FLUSH_MAX_ROWS > config.RING_CAPACITY) {
    throw new ConfigError(`invalid configuration: env/FLUSH_MAX_ROWS (${config.FLUSH_MAX_ROWS}) must not exceed RING_CAPACITY (${config.RING_CAPACITY})`)
  }
  return Object.freeze(config)
}
