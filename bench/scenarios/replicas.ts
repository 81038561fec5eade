/**
 * The replicas group (issue 13): throughput through HAProxy with the shipped deploy/haproxy.cfg
 * (harness/haproxy-process.ts: the same file with fixed loopback addresses instead of Docker's DNS)
 * in front of 1, 2 and 3 replicas of the service (dist/server.js, ACK_MODE=durable, its defaults)
 * on the bench's one PostgreSQL; and, in the same run, the plain scenario straight to one service,
 * so that what the HAProxy hop costs is visible.
 *
 * Each window is an ordinary HTTP scenario (lib/run/http-scenario.ts) with a Front: the tables
 * emptied, the replicas started at once on the bench database (they migrate under an advisory
 * lock: here the migrations are already applied), HAProxy started before them and waited for until
 * every replica is in its pool (/readyz), then the warm-up, the measured window with autocannon
 * sending to HAProxy's port, every replica drained and the no-loss check — rows against the 2xx
 * answers the client got through HAProxy. CPU is read for each service process, HAProxy,
 * PostgreSQL and the load generator apart.
 */
import { freePort } from '../../harness/free-port.js'
import { HaproxyProcess } from '../../harness/haproxy-process.js'
import { BodyKind } from '../lib/load/bodies.js'
import { runHttpScenario, type Front, type HttpScenarioSpec } from '../lib/run/http-scenario.js'
import { pinTree } from '../lib/run/pinning.js'
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.js'

export const REPLICA_COUNTS: readonly number[] = [1, 2, 3]
// HAProxy checks /readyz every second and lets a replica in after 2 passes (deploy/haproxy.cfg).
const POOL_TIMEOUT_MS = 15_000
const HAPROXY = 'haproxy'

/** What HAProxy's own counters said when it was stopped (after the window and the drain). */
interface HaproxyAccount {
  retries?: number
  redispatches?: number
}

/** `spec` straight to one service, then through HAProxy to each of `counts` replicas. */
export function replicasScenario (spec: HttpScenarioSpec, counts: readonly number[] = REPLICA_COUNTS): Scenario {
  const name = `replicas-${spec.name}`
  return {
    name,
    description: `${spec.name} straight to one service, then through HAProxy (deploy/haproxy.cfg) to ${counts.join(', ')} replicas started at once, one PostgreSQL`,
    usesService: true,
    run: async context => {
      const results: ScenarioResult[] = [await direct(name, spec, context)]
      for (const replicas of counts) results.push(await throughHaproxy(name, spec, replicas, context))
      return results
    }
  }
}

function figureOf (spec: HttpScenarioSpec): 'req/s' | 'events/s' {
  return spec.body.kind === BodyKind.single ? 'req/s' : 'events/s'
}

/** The plain scenario, autocannon to the service's own port: the figure without the hop. */
async function direct (group: string, spec: HttpScenarioSpec, context: ScenarioContext): Promise<ScenarioResult> {
  const result = await runHttpScenario({ ...spec, name: `${group}/direct`, description: `${spec.description}; straight to one service, no HAProxy` }, context)
  return {
    ...result,
    config: { ...result.config, via: 'direct', replicas: 1 },
    replicas: { load: spec.name, via: 'direct', replicas: 1, figure: figureOf(spec) }
  }
}

async function throughHaproxy (group: string, spec: HttpScenarioSpec, replicas: number, context: ScenarioContext): Promise<ScenarioResult> {
  const account: HaproxyAccount = {}
  const result = await runHttpScenario({
    ...spec,
    name: `${group}/haproxy-${replicas}`,
    description: `${spec.description}; through HAProxy to ${replicas} replica${replicas === 1 ? '' : 's'}`
  }, context, haproxyFront(replicas, account))
  const retried = account.retries === undefined
    ? 'HAProxy\'s retry counters could not be read'
    : `HAProxy retried ${account.retries} and redispatched ${account.redispatches ?? 0} requests (retry-on conn-failure 503: nothing stored by the first try)`
  return {
    ...result,
    config: { ...result.config, via: HAPROXY, replicas, haproxy: 'deploy/haproxy.cfg, fixed loopback addresses (harness/haproxy-process.ts)' },
    notes: [
      ...result.notes,
      retried,
      'HAProxy logs one line per request to stdout (the shipped `option httplog`), read through a pipe by this runner: that reading is in the load generator\'s CPU'
    ],
    replicas: { load: spec.name, via: HAPROXY, replicas, figure: figureOf(spec) }
  }
}

/** HAProxy before the replicas' addresses, returned once every one is in its pool; its counters into `account` at stop. */
function haproxyFront (replicas: number, account: HaproxyAccount): Front {
  return {
    name: HAPROXY,
    replicas,
    start: async (serviceUrls, { pinning, progress }) => {
      const haproxy = await HaproxyProcess.start({
        servers: serviceUrls.map(url => new URL(url).host),
        port: await freePort(),
        statsPort: await freePort()
      })
      try {
        // --pin: HAProxy is on the server side, beside the services and PostgreSQL.
        if (pinning.enabled && pinning.serverCores !== undefined) pinTree(haproxy.pid, pinning.serverCores)
        const waitedFrom = performance.now()
        if (!await haproxy.waitForActive(replicas, POOL_TIMEOUT_MS)) {
          throw new Error(`HAProxy had ${await haproxy.activeServers().catch(() => '?')} of ${replicas} replicas in its pool after ${POOL_TIMEOUT_MS / 1000} s`)
        }
        progress(`${HAPROXY} (pid ${haproxy.pid}) at ${haproxy.url}: ${replicas} replica(s) in the pool after ${((performance.now() - waitedFrom) / 1000).toFixed(1)} s`)
      } catch (err) {
        await haproxy.stop()
        throw err
      }
      return {
        url: haproxy.url,
        pid: haproxy.pid,
        stop: async () => {
          const metrics = await haproxy.metrics().catch(() => '')
          const retries = backendCounter(metrics, 'haproxy_backend_retry_warnings_total')
          if (retries !== undefined) account.retries = retries
          const redispatches = backendCounter(metrics, 'haproxy_backend_redispatch_warnings_total')
          if (redispatches !== undefined) account.redispatches = redispatches
          await haproxy.stop()
        }
      }
    }
  }
}

/** A counter of the `replicas` backend from HAProxy's Prometheus text. */
function backendCounter (text: string, name: string): number | undefined {
  const value = new RegExp(`^${name}\\{proxy="replicas"\\} (\\d+)`, 'm').exec(text)?.[1]
  return value === undefined ? undefined : Number(value)
}
