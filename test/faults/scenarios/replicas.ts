/**
 * (i) Three replicas behind the shipped HAProxy (deploy/haproxy.cfg), one PostgreSQL, durable
 * mode, the load through HAProxy:
 * - the three start at once on an empty database: each migration applied once, all three ready;
 * - SIGTERM one mid-load: it drains and exits 0, HAProxy takes it out of the pool (its /readyz
 *   turns 503), and clients see only 200s and 503s;
 * - SIGKILL another mid-load: every 200 is stored; its requests in flight get no answer (HAProxy's
 *   502: counted as no answer);
 * - restart the killed one on its port: it rejoins the pool by /readyz alone.
 * Through all of it: acknowledged = stored, nothing twice.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import postgres from 'postgres'
import { freePort } from '../../../harness/free-port.js'
import { HaproxyProcess } from '../../../harness/haproxy-process.js'
import { MIGRATIONS_DIR } from '../../../src/database/migrate.js'
import { startLoad } from '../lib/load.js'
import { answerFacts, cleanup, loggedProblems, settle, tally, type Scenario } from '../lib/scenario.js'
import { Service } from '../lib/service.js'

const REPLICAS = 3
// HAProxy checks /readyz every second and takes a replica out after 2 failures.
const POOL_CHANGE_MS = 5_000

export const replicas: Scenario = {
  name: 'replicas',
  title: '(i) 3 replicas behind HAProxy: simultaneous start, SIGTERM one and SIGKILL another mid-load, restart it; every 200 stored once',
  run: async context => {
    const { profile } = context
    const started = performance.now()
    const services: Service[] = []
    let haproxy: HaproxyProcess | undefined
    const failures: string[] = []
    try {
      const databaseUrl = await context.cluster.createDatabase('replicas')
      const ports = await Promise.all(Array.from({ length: REPLICAS }, async () => await freePort()))
      const start = async (i: number, log: string): Promise<Service> => await Service.start({
        entry: context.entry, databaseUrl, port: ports[i]!, env: { ACK_MODE: 'durable' }, logFile: join(context.logDir, `replicas-${log}.log`)
      })
      // All at once, on a database none of them has migrated yet.
      services.push(...await Promise.all(ports.map(async (_, i) => await start(i, `app${i + 1}`))))
      // Each would have crashed at start-up had two applied the same migration.
      const recorded = await appliedMigrations(databaseUrl)
      const shipped = (await readdir(MIGRATIONS_DIR)).filter(name => name.endsWith('.sql')).sort()
      if (recorded.join() !== shipped.join()) failures.push(`simultaneous start: migrations recorded ${recorded.join(', ')}, expected ${shipped.join(', ')}`)

      haproxy = await HaproxyProcess.start({ servers: ports.map(port => `127.0.0.1:${port}`), port: await freePort(), statsPort: await freePort() })
      if (!await haproxy.waitForActive(REPLICAS, POOL_CHANGE_MS)) failures.push(`HAProxy never had all ${REPLICAS} replicas in its pool`)
      context.note(`replicas: ${REPLICAS} services (pids ${services.map(s => s.pid).join(', ')}) behind HAProxy at ${haproxy.url}`)

      const load = startLoad({
        url: haproxy.url,
        singleWorkers: profile.singleWorkers,
        batchWorkers: profile.batchWorkers,
        batchSize: profile.batchSize,
        maxDurationMs: 5 * profile.loadMs + 60_000,
        viaLoadBalancer: true
      })
      await sleep(profile.warmMs)

      // SIGTERM app1: drain, exit 0, out of the pool; the others take its traffic.
      const statusesBeforeTerm = new Map(load.report.statuses)
      const term = await services[0]!.stop('SIGTERM')
      if (term.code !== 0) failures.push(`app1 exited ${term.code ?? term.signal} after SIGTERM, expected 0`)
      const outAfterTerm = await haproxy.waitForActive(REPLICAS - 1, POOL_CHANGE_MS)
      if (!outAfterTerm) failures.push('HAProxy kept the drained app1 in its pool')
      await sleep(profile.warmMs)
      const nonOkDuringTerm = [...load.report.statuses].filter(([status, n]) => status !== 200 && status !== 503 && n > (statusesBeforeTerm.get(status) ?? 0))
      if (nonOkDuringTerm.length > 0) failures.push(`during the SIGTERM drain, answers other than 200/503: ${nonOkDuringTerm.map(([s]) => s).join(', ')}`)

      // SIGKILL app2 mid-load, then start it again on its port: back in the pool by /readyz.
      const ackedBeforeKill = load.report.acked.size
      const kill = await services[1]!.stop('SIGKILL')
      if (kill.signal !== 'SIGKILL') failures.push(`app2: expected death by SIGKILL, got ${kill.code ?? kill.signal}`)
      await sleep(profile.warmMs)
      const restartAt = performance.now()
      services.push(await start(1, 'app2-restarted'))
      const rejoined = await haproxy.waitForActive(REPLICAS - 1, POOL_CHANGE_MS)
      const rejoinSeconds = (performance.now() - restartAt) / 1000
      if (!rejoined) failures.push('the restarted app2 did not rejoin HAProxy\'s pool')
      await sleep(profile.afterMs)

      const report = await load.stop()
      const haproxyMetrics = await haproxy.metrics()
      const restartedCommitted = await services[REPLICAS]!.metric('ingest_events_committed_total')
      if (restartedCommitted === 0) failures.push('the restarted app2 is in the pool but committed nothing: HAProxy sent it no traffic')
      for (const service of services) if (service.exit === undefined) await service.stop('SIGTERM')
      const result = await settle('replicas', started, report, databaseUrl, services)
      result.failures.push(...failures)
      result.facts = {
        'rejoin s': Number(rejoinSeconds.toFixed(2)),
        'acked before SIGKILL': ackedBeforeKill,
        'committed by app2 after its restart': restartedCommitted,
        'retried by HAProxy': metricValue(haproxyMetrics, 'haproxy_backend_retry_warnings_total'),
        ...answerFacts(report, services[2]!),
        'no answer': tally(report.networkErrors) || 0,
        logged: services.map(loggedProblems).filter(line => line !== '').join(' | ')
      }
      return result
    } finally {
      for (const service of services) await cleanup(service)
      await haproxy?.stop()
    }
  }
}

async function appliedMigrations (databaseUrl: string): Promise<string[]> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  try {
    const rows = await sql<Array<{ version: string }>>`select version from schema_migrations order by version`
    return rows.map(row => row.version)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

function metricValue (text: string, name: string): number {
  const match = new RegExp(`^${name}\\{proxy="replicas"\\} (\\d+)`, 'm').exec(text)
  return Number(match?.[1] ?? 0)
}
