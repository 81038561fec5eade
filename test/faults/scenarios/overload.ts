/**
 * (d) 3× overload, durable mode. The database is throttled by a test trigger that sleeps
 * THROTTLE_S once per insert statement into user_metrics — one statement per flush — so with
 * FLUSH_CONCURRENCY flushes of at most FLUSH_MAX_ROWS rows it can absorb at most
 * CAPACITY events/s whatever the machine. The client offers 3× that, paced, mostly as batches.
 * Expected: the excess gets 503 + Retry-After, the buffer (RING_CAPACITY) bounds memory and the
 * wait of an accepted event, and nothing acknowledged is lost.
 */
import postgres from 'postgres'
import { startLoad } from '../lib/load.js'
import { answerFacts, cleanup, serviceFor, settle, type Scenario } from '../lib/scenario.js'
import type { Service } from '../lib/service.js'

const THROTTLE_S = 0.1
const FLUSH_MAX_ROWS = 100
const FLUSH_CONCURRENCY = 2
/** Most events/s the throttled database can take: 2 × 100 rows per 0.1 s. */
const CAPACITY = FLUSH_CONCURRENCY * FLUSH_MAX_ROWS / THROTTLE_S
const OVERLOAD = 3
/** Small, so the buffer is half a second of work at CAPACITY: about the longest an accepted event waits. */
const RING_CAPACITY = 1_000
/**
 * Durable clients wait for their commit, so the events in flight — workers × batch size — must
 * exceed RING_CAPACITY for the buffer to fill at all: 32 × 50 = 1,600 (short), 64 × 50 (full).
 */
const BATCH_WORKERS = { short: 32, full: 64 }
const SINGLE_WORKERS = { short: 8, full: 16 }
/** Memory stays flat: the peak RSS may exceed the RSS before the load by at most this. */
export const RSS_GROWTH_BOUND_BYTES = 100 * 1024 * 1024
/**
 * And in all, for the compiled service (dist/server.js, ~95 MB at rest). Under a TypeScript
 * loader (the tap test runs src/server.ts through tap's) the process starts near 300 MB, so
 * there only the growth is bounded.
 */
export const RSS_BOUND_BYTES = 300 * 1024 * 1024
/** p99 of 200s: a full buffer drains in RING_CAPACITY / CAPACITY = 0.5 s; 3 s leaves room for a noisy 2-core machine. */
export const P99_BOUND_MS = 3_000

export const overload: Scenario = {
  name: 'overload',
  title: `(d) ${OVERLOAD}× overload of a database throttled to ${CAPACITY} events/s; durable mode`,
  run: async context => {
    const { profile } = context
    const started = performance.now()
    let service: Service | undefined
    try {
      const setup = await serviceFor(context, 'overload', {
        ACK_MODE: 'durable',
        RING_CAPACITY: String(RING_CAPACITY),
        FLUSH_MAX_ROWS: String(FLUSH_MAX_ROWS),
        FLUSH_CONCURRENCY: String(FLUSH_CONCURRENCY),
        BATCH_MAX_EVENTS: String(RING_CAPACITY)
      })
      service = setup.service
      // After the service has migrated: the trigger needs its table.
      const sql = postgres(setup.databaseUrl, { max: 1, onnotice: () => {} })
      try {
        await sql.unsafe(`
          create function faults_throttle() returns trigger language plpgsql as $$
          begin perform pg_sleep(${THROTTLE_S}); return null; end $$;
          create trigger faults_throttle after insert on user_metrics
            for each statement execute function faults_throttle();`).simple()
      } finally {
        await sql.end({ timeout: 5 })
      }
      const rssAtStart = service.rss.sample() ?? 0
      const load = startLoad({
        url: service.url,
        singleWorkers: SINGLE_WORKERS[profile.name],
        batchWorkers: BATCH_WORKERS[profile.name],
        batchSize: profile.batchSize,
        eventsPerSecond: CAPACITY * OVERLOAD,
        maxDurationMs: profile.loadMs
      })
      const report = await load.done
      const exit = await service.stop('SIGTERM')

      const result = await settle('overload', started, report, setup.databaseUrl, [service])
      const seconds = report.durationMs / 1000
      const offeredRate = report.eventsOffered / seconds
      const ackedRate = result.acked / seconds
      if (result.status503 === 0) result.failures.push('no 503: the service was not overloaded')
      if (offeredRate < 2.5 * ackedRate) result.failures.push(`offered ${Math.round(offeredRate)} events/s is not ~${OVERLOAD}× the ${Math.round(ackedRate)} acknowledged`)
      if (result.peakRssBytes - rssAtStart > RSS_GROWTH_BOUND_BYTES) {
        result.failures.push(`peak RSS ${mb(result.peakRssBytes)} MB is more than ${mb(RSS_GROWTH_BOUND_BYTES)} MB above the ${mb(rssAtStart)} MB before the load`)
      }
      const compiled = context.entry.endsWith('.js')
      if (compiled && result.peakRssBytes > RSS_BOUND_BYTES) result.failures.push(`peak RSS ${mb(result.peakRssBytes)} MB above the ${mb(RSS_BOUND_BYTES)} MB bound`)
      if (result.p99Ms === undefined || result.p99Ms > P99_BOUND_MS) result.failures.push(`p99 of 200s ${result.p99Ms?.toFixed(0)} ms above ${P99_BOUND_MS} ms`)
      if (exit.code !== 0 && service.diedOnItsOwn === undefined) result.failures.push(`SIGTERM after the run: exit ${exit.code ?? exit.signal}, expected 0`)
      result.facts = {
        'offered ev/s': Math.round(offeredRate),
        'acked ev/s': Math.round(ackedRate),
        'db capacity ev/s': CAPACITY,
        'RSS before the load MB': mb(rssAtStart),
        'RSS bound MB': compiled ? `${mb(RSS_BOUND_BYTES)}, and +${mb(RSS_GROWTH_BOUND_BYTES)}` : `+${mb(RSS_GROWTH_BOUND_BYTES)} (TypeScript loader)`,
        'p99 bound ms': P99_BOUND_MS,
        ...answerFacts(report, service)
      }
      return result
    } finally {
      await cleanup(service)
    }
  }
}

function mb (bytes: number): number {
  return Math.round(bytes / 1024 / 1024)
}
