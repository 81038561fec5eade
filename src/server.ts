/**
 * The only file that listens: loadConfig → database → buildApp → listen → close-with-grace.
 */
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { openDatabase } from './database/index.js'
import { createLogger } from './logger.js'

let config: Config
try {
  config = loadConfig(process.env)
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`${err.message}\n`)
  process.exit(2)
}

const log = createLogger(config)
const database = await openDatabase(config, log)
const app = await buildApp(config, { sql: database.sql, logger: log })

closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS, logger: log }, async ({ signal, err }) => {
  if (err !== undefined) log.error({ err }, 'shutting down after an error')
  else log.info({ signal }, 'shutting down: draining the buffer')
  await app.close()
  await database.close()
  log.info('shutdown complete')
})

await app.listen({ port: config.PORT, host: config.HOST })
log.info({ ackMode: config.ACK_MODE, ringCapacity: config.RING_CAPACITY }, 'metrics-ingest ready')
