/**
 * (a) PostgreSQL stopped under load — `pg_ctl stop -m fast` (clients cut off, clean shutdown)
 * or `-m immediate` (a crash: WAL recovery at the next start) — then started again on the same
 * data directory and port. Durable mode: requests get 503 + Retry-After while it is down,
 * nothing acknowledged is lost, and the first 200 comes soon after it is back.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { firstAckAfter } from '../lib/load.js'
import type { StopMode } from '../lib/postgres.js'
import { answerFacts, cleanup, profileLoad, serviceFor, settle, type Scenario } from '../lib/scenario.js'
import type { Service } from '../lib/service.js'

// After the restart the load goes on until the first acknowledgement, at most this long.
const RECOVERY_WAIT_MS = 30_000

export function pgRestart (mode: StopMode): Scenario {
  const name = `pg-restart-${mode}`
  return {
    name,
    title: `(a) PostgreSQL stopped -m ${mode} mid-load and started again; durable mode`,
    run: async context => {
      const { cluster, profile } = context
      const started = performance.now()
      let service: Service | undefined
      try {
        const setup = await serviceFor(context, name, { ACK_MODE: 'durable' })
        service = setup.service
        const load = profileLoad(service, profile, { maxDurationMs: profile.warmMs + profile.outageMs + profile.afterMs + RECOVERY_WAIT_MS + 30_000 })
        await sleep(profile.warmMs)
        const ackedBefore = load.report.acked.size
        const refusedBefore = load.report.statuses.get(503) ?? 0
        const stopping = performance.now()
        await cluster.stop(mode)
        const downAt = performance.now()
        // A stop that takes seconds is worth its log lines in the report.
        const slowStopLog = downAt - stopping > 3_000 ? await cluster.logTail(15) : ''
        context.note(`${name}: PostgreSQL stopped (-m ${mode}, ${Math.round(downAt - stopping)} ms) after ${ackedBefore} acknowledgements`)
        await sleep(profile.outageMs)
        const refusedWhileDown = (load.report.statuses.get(503) ?? 0) - refusedBefore
        await cluster.start()
        const backAt = performance.now()
        context.note(`${name}: PostgreSQL back after ${((backAt - downAt) / 1000).toFixed(1)} s; ${refusedWhileDown} 503s meanwhile`)
        await sleep(profile.afterMs)
        const waitUntil = performance.now() + RECOVERY_WAIT_MS
        while (firstAckAfter(load.report, backAt) === undefined && performance.now() < waitUntil && service.exit === undefined) await sleep(100)
        const stoppingLoad = performance.now()
        const report = await load.stop()
        const exit = await service.stop('SIGTERM')
        context.note(`${name}: load stopped in ${Math.round(performance.now() - stoppingLoad - exit.ms)} ms, service in ${exit.ms} ms`)

        const result = await settle(name, started, report, setup.databaseUrl, [service])
        const firstAck = firstAckAfter(report, backAt)
        if (firstAck !== undefined) result.recoverySeconds = (firstAck - backAt) / 1000
        // A service that died mid-run is reported by settle(); this would only repeat it.
        else if (service.diedOnItsOwn === undefined) result.failures.push(`no 200 within ${RECOVERY_WAIT_MS / 1000} s of the database being back`)
        if (refusedWhileDown === 0) result.failures.push('no 503 while the database was down: the outage was not seen')
        if (exit.code !== 0 && service.diedOnItsOwn === undefined) result.failures.push(`SIGTERM after the run: exit ${exit.code ?? exit.signal}, expected 0`)
        result.facts = {
          'stopped at s': Number(((downAt - started) / 1000).toFixed(2)),
          'slow requests (sent at ms, took ms)': report.slow.map(r => `${r.sentAtMs}+${r.ms} ${r.outcome}`).join(', '),
          'down s': Number(((backAt - downAt) / 1000).toFixed(2)),
          '503 while down': refusedWhileDown,
          ...answerFacts(report, service),
          'postgres log of a slow stop': slowStopLog === '' ? '' : `\n${slowStopLog}`
        }
        return result
      } finally {
        await cleanup(service)
        if (!cluster.running) await cluster.start()
      }
    }
  }
}
