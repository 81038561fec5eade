/**
 * Readiness: may a load balancer send this instance traffic? Yes only while every probe the
 * process's role needs passes and the service is not shutting down. Durable and buffered mode
 * probe the database and the buffer; stream mode probes NATS and the stream's fill instead, so an
 * ingest process stays in the pool through a database outage (docs/stream.md). /readyz asks live;
 * a periodic probe keeps the ingest_ready gauge current.
 */
import type { FastifyBaseLogger } from 'fastify'
import fp from 'fastify-plugin'
import type { Sql } from './database/client.js'
import { failureLabel } from './database/errors.js'

/** One thing readiness depends on: its problem, or undefined when it is fine. */
export interface ReadinessProbe {
  name: string
  check: () => Promise<string | undefined> | string | undefined
}

export interface ReadinessOptions {
  probes: readonly ReadinessProbe[]
  probeIntervalMs: number
}

export interface Readiness {
  ready: boolean
  checks: Record<string, string>
}

declare module 'fastify' {
  interface FastifyInstance {
    readiness: { check: () => Promise<Readiness> }
  }
}

/** Settles `work` or gives up with a problem after `timeoutMs`. */
export async function withinTimeout (work: Promise<string | undefined>, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<string>(resolve => {
    timer = setTimeout(() => { resolve(`no answer within ${timeoutMs} ms`) }, timeoutMs)
  })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** The database answers `select 1` within `timeoutMs`; a change either way is logged once. */
export function databaseProbe (sql: Sql, timeoutMs: number, log: FastifyBaseLogger): ReadinessProbe {
  let last: string | undefined = 'not checked yet'
  return {
    name: 'database',
    check: async () => {
      const problem = await withinTimeout(sql`select 1`.then(() => undefined, (err: unknown) => `unreachable (${failureLabel(err)})`), timeoutMs)
      if (problem !== last) {
        if (problem === undefined) log.info('database reachable again')
        else log.warn({ problem }, 'database not reachable: reporting not ready')
      }
      last = problem
      return problem
    }
  }
}

/** The buffer holds fewer events than its high-water mark. */
export function bufferProbe (buffer: { size: number, capacity: number }, highWater: number): ReadinessProbe {
  return {
    name: 'buffer',
    check: () => {
      const size = buffer.size
      return size < highWater ? undefined : `${size} of ${buffer.capacity} events held, at or above the high-water mark of ${highWater}`
    }
  }
}

export const readinessPlugin = fp<ReadinessOptions>(async (app, options) => {
  const { metrics } = app
  let closing = false
  let lastReady = false

  async function check (): Promise<Readiness> {
    const checks: Record<string, string> = {}
    const problems = await Promise.all(options.probes.map(async probe => await probe.check()))
    options.probes.forEach((probe, i) => { checks[probe.name] = problems[i] ?? 'ok' })
    checks.shutdown = closing ? 'shutting down' : 'ok'
    lastReady = Object.values(checks).every(c => c === 'ok')
    return { ready: lastReady, checks }
  }

  metrics.sources.ready = () => lastReady && !closing

  await check()
  const probe = setInterval(() => { check().catch(() => {}) }, options.probeIntervalMs)
  probe.unref()

  app.decorate('readiness', { check })
  app.addHook('preClose', async () => { closing = true })
  app.addHook('onClose', async () => { clearInterval(probe) })
}, { name: 'readiness', dependencies: ['metrics'] })
