import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('defaults for every key', async t => {
  const config = loadConfig({})
  t.match(config, {
    PORT: 8080,
    HOST: '0.0.0.0',
    ACK_MODE: 'durable',
    RING_CAPACITY: 100_000,
    FLUSH_MAX_ROWS: 2_000,
    FLUSH_INTERVAL_MS: 20,
    FLUSH_CONCURRENCY: 2,
    FLUSH_WHEN_IDLE: true,
    SHUTDOWN_TIMEOUT_MS: 10_000,
    LOG_LEVEL: 'info'
  })
  t.equal(config.DATABASE_URL, undefined, 'no URL: the embedded database')
  t.ok(Object.isFrozen(config), 'frozen')
})

t.test('values are read from the environment and typed', async t => {
  const config = loadConfig({
    PORT: '9000',
    ACK_MODE: 'buffered',
    FLUSH_WHEN_IDLE: 'false',
    DATABASE_URL: 'postgres://u:p@db:5432/metrics',
    UNRELATED: 'ignored'
  })
  t.equal(config.PORT, 9000)
  t.equal(config.ACK_MODE, 'buffered')
  t.equal(config.FLUSH_WHEN_IDLE, false)
  t.equal(config.DATABASE_URL, 'postgres://u:p@db:5432/metrics')
  t.notOk('UNRELATED' in config, 'only our keys')
})

t.test('an empty variable counts as unset', async t => {
  t.equal(loadConfig({ DATABASE_URL: '', PORT: '' }).PORT, 8080)
  t.equal(loadConfig({ DATABASE_URL: '' }).DATABASE_URL, undefined)
})

t.test('one error names every bad key', async t => {
  const err = t.throws(() => loadConfig({
    PORT: 'eighty',
    ACK_MODE: 'sometimes',
    RING_CAPACITY: '0',
    FLUSH_CONCURRENCY: '1.5',
    DATABASE_URL: 'mysql://nope',
    LOG_LEVEL: 'loud'
  })) as Error
  t.type(err, ConfigError)
  for (const key of ['PORT', 'ACK_MODE', 'RING_CAPACITY', 'FLUSH_CONCURRENCY', 'DATABASE_URL', 'LOG_LEVEL']) {
    t.match(err.message, `env/${key}`, `names ${key}`)
  }
})

t.test('a batch larger than the ring is refused', async t => {
  t.throws(() => loadConfig({ RING_CAPACITY: '10', FLUSH_MAX_ROWS: '11' }), /FLUSH_MAX_ROWS \(11\) must not exceed RING_CAPACITY \(10\)/)
})

t.test('stream mode needs NATS_URL; ROLE=ingest|writer needs stream mode', async t => {
  t.throws(() => loadConfig({ ACK_MODE: 'stream' }), /NATS_URL is required with ACK_MODE=stream/)
  t.throws(() => loadConfig({ ROLE: 'writer' }), /ROLE=writer needs ACK_MODE=stream/)
  t.throws(() => loadConfig({ ROLE: 'ingest', ACK_MODE: 'buffered' }), /ROLE=ingest needs ACK_MODE=stream/)
  t.throws(() => loadConfig({ ROLE: 'reader', ACK_MODE: 'stream', NATS_URL: 'nats://localhost:4222' }), /ROLE/)
  t.throws(() => loadConfig({ ACK_MODE: 'stream', NATS_URL: 'nats://a:4222, nats://b:4222' }), /NATS_URL/, 'no spaces in the server list')
  const config = loadConfig({ ACK_MODE: 'stream', ROLE: 'ingest', NATS_URL: 'nats://a:4222,nats://b:4222' })
  t.match(config, { ACK_MODE: 'stream', ROLE: 'ingest', NATS_URL: 'nats://a:4222,nats://b:4222', STREAM_NAME: 'INGEST', STREAM_REPLICAS: 1, STREAM_HIGH_WATER: 0.8 })
})
