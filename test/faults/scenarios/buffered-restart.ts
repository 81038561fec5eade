/**
 * (f) Buffered mode (ACK_MODE=buffered) through a PostgreSQL crash (`pg_ctl stop -m immediate`)
 * and restart. Every 202 is a promise made before the commit: the buffer must hold those events
 * through the outage (refusing the excess with 503 once full) and write every one once the
 * database is back. The service is given time to drain — /metrics `ingest_buffer_events 0` —
 * before the rows are counted.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { answerFacts, cleanup, profileLoad, serviceFor, settle, type Scenario } from '../lib/scenario.js'
import type { Service } from '../lib/service.js'

const DRAIN_TIMEOUT_MS = 60_000
const COMMITTED = 'ingest_events_committed_total'

export const bufferedRestart: Scenario = {
  name: 'buffered-restart',
  title: '(f) PostgreSQL crashed (-m immediate) and restarted under load; buffered mode: every 202 written',
  run: async context => {
    const { cluster, profile } = context
    const started = performance.now()
    let service: Service | undefined
    try {
      const setup = await serviceFor(context, 'buffered-restart', { ACK_MODE: 'buffered' })
      service = setup.service
      const live = service
      const load = profileLoad(service, profile, { maxDurationMs: profile.warmMs + profile.outageMs + profile.afterMs + 30_000 })
      await sleep(profile.warmMs)
      await cluster.stop('immediate')
      const downAt = performance.now()
      context.note(`buffered-restart: PostgreSQL crashed after ${load.report.acked.size} acknowledgements`)
      await sleep(profile.outageMs)
      const bufferedWhileDown = await live.metric('ingest_buffer_events')
      const committedWhileDown = await live.metric(COMMITTED)
      const refusedWhileDown = load.report.statuses.get(503) ?? 0
      await cluster.start()
      const backAt = performance.now()
      context.note(`buffered-restart: PostgreSQL back after ${((backAt - downAt) / 1000).toFixed(1)} s with ${bufferedWhileDown} events buffered`)
      // Recovery: from the database being back to the first commit after it.
      const firstCommit = (async () => {
        const until = backAt + DRAIN_TIMEOUT_MS
        while (performance.now() < until && live.exit === undefined) {
          if (await live.metric(COMMITTED) > committedWhileDown) return performance.now()
          await sleep(100)
        }
        return undefined
      })()
      await sleep(profile.afterMs)
      const report = await load.stop()
      const drainStart = performance.now()
      const drained = await live.waitForMetric('ingest_buffer_events', 0, DRAIN_TIMEOUT_MS)
      const drainSeconds = (performance.now() - drainStart) / 1000
      const committedAt = await firstCommit
      const exit = await service.stop('SIGTERM')

      const result = await settle('buffered-restart', started, report, setup.databaseUrl, [service])
      if (committedAt !== undefined) result.recoverySeconds = (committedAt - backAt) / 1000
      // A service that died mid-run is reported by settle(); these would only repeat it.
      if (service.diedOnItsOwn === undefined) {
        if (committedAt === undefined) result.failures.push(`no commit within ${DRAIN_TIMEOUT_MS / 1000} s of the database being back`)
        if (!drained) result.failures.push(`the buffer did not drain within ${DRAIN_TIMEOUT_MS / 1000} s`)
      }
      if (exit.code !== 0 && service.diedOnItsOwn === undefined) result.failures.push(`SIGTERM after the run: exit ${exit.code ?? exit.signal}, expected 0`)
      result.facts = {
        'buffered while down': bufferedWhileDown,
        '503 while down': refusedWhileDown,
        'drain s': Number(drainSeconds.toFixed(2)),
        ...answerFacts(report, service)
      }
      return result
    } finally {
      await cleanup(service)
      if (!cluster.running) await cluster.start()
    }
  }
}
