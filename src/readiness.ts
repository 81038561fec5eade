/**
 * Readiness: may a load balancer send this instance traffic? Yes only while the database
 * answers within a short timeout, the buffer is below its high-water mark and the service is
 * not shutting down. /readyz asks live; a periodic probe keeps the ingest_ready gauge current.
 */
import fp from 'fastify-plugin'
import { failureLabel } from './database/errors.js'

export interface ReadinessOptions {
  /** Fraction of RING_CAPACITY at which the instance reports not ready. */
  highWaterRatio: number
  databaseTimeoutMs: number
  probeIntervalMs: number
}

export interface Readiness {
  ready: boolean
  checks: { database: string, buffer: string, shutdown: string }
}

declare module 'fastify' {
  interface FastifyInstance {
    readiness: { check: () => Promise<Readiness> }
  }
}

export const readinessPlugin = fp<ReadinessOptions>(async (app, options) => {
  const { sql, ingest, metrics, log } = app
  const { buffer } = ingest
  const highWater = Math.max(1, Math.floor(buffer.capacity * options.highWaterRatio))
  let closing = false
  let databaseProblem: string | undefined = 'not checked yet'

  async function pingDatabase (): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<string>(resolve => {
      timer = setTimeout(() => { resolve(`no answer within ${options.databaseTimeoutMs} ms`) }, options.databaseTimeoutMs)
    })
    const ping = sql`select 1`.then(() => undefined, (err: unknown) => `unreachable (${failureLabel(err)})`)
    try {
      return await Promise.race([ping, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  async function check (): Promise<Readiness> {
    const problem = await pingDatabase()
    if (problem !== databaseProblem) {
      if (problem === undefined) log.info('database reachable again')
      else log.warn({ problem }, 'database not reachable: reporting not ready')
    }
    databaseProblem = problem
    const size = buffer.size
    const checks = {
      database: problem ?? 'ok',
      buffer: size < highWater ? 'ok' : `${size} of ${buffer.capacity} events held, at or above the high-water mark of ${highWater}`,
      shutdown: closing ? 'shutting down' : 'ok'
    }
    return { ready: Object.values(checks).every(c => c === 'ok'), checks }
  }

  metrics.sources.bufferHighWater = () => highWater
  metrics.sources.ready = () => databaseProblem === undefined && !closing && buffer.size < highWater

  await check()
  const probe = setInterval(() => { check().catch(() => {}) }, options.probeIntervalMs)
  probe.unref()

  app.decorate('readiness', { check })
  app.addHook('preClose', async () => { closing = true })
  app.addHook('onClose', async () => { clearInterval(probe) })
}, { name: 'readiness', dependencies: ['ingest'] })
