/**
 * The only file that listens: loadConfig → database → buildApp → listen → close-with-grace.
 */
import { createServer, type Server } from 'node:http'
import closeWithGrace from 'close-with-grace'
import { buildApp, type App } from './app.js'
import { ConfigError, loadConfig, Role, type Config } from './config.js'
import { openDatabase, type Database } from './database/index.js'
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
// The ingest role of stream mode never touches PostgreSQL: the writers do.
const database: Database | undefined = config.ROLE === Role.ingest ? undefined : await openDatabase(config, log)
const app = await buildApp(config, { ...(database !== undefined ? { sql: database.sql } : {}), logger: log })

/** METRICS_PORT: the scrape on a listener of its own, so the ingest port need not expose it. */
async function listenForMetrics (app: App, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404).end()
      return
    }
    app.metrics.registry.metrics().then(text => {
      response.writeHead(200, { 'content-type': app.metrics.registry.contentType }).end(text)
    }, (err: unknown) => {
      log.error({ err }, 'metrics scrape failed')
      response.writeHead(500).end()
    })
  })
  await new Promise<void>(resolve => server.listen(port, config.HOST, resolve))
  log.info({ address: server.address() }, 'metrics listening')
  return server
}

let metricsServer: Server | undefined

closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS, logger: log }, async ({ signal, err }) => {
  if (err !== undefined) log.error({ err }, 'shutting down after an error')
  else log.info({ signal }, 'shutting down: draining the buffer')
  await app.close()
  // Scraped until the drain is over, so the last flushes are visible.
  if (metricsServer !== undefined) await new Promise(resolve => metricsServer?.close(resolve))
  await database?.close()
  // close-with-grace exits 1 on a throw: a shutdown that lost acknowledged events is not clean.
  const lost = database === undefined ? 0 : app.ingest.lostOnShutdown
  if (lost > 0) throw new Error(`${lost} acknowledged events were lost at shutdown`)
  log.info('shutdown complete')
})

await app.listen({ port: config.PORT, host: config.HOST })
if (config.METRICS_PORT !== undefined) metricsServer = await listenForMetrics(app, config.METRICS_PORT)
log.info({ ackMode: config.ACK_MODE, role: config.ROLE, ringCapacity: config.RING_CAPACITY }, 'metrics-ingest ready')
