/**
 * (c) SIGKILL mid-load, durable mode: no drain, no goodbye. Every 200 was sent after its commit,
 * so every 200 is stored; requests in flight get no answer (and may or may not be stored).
 * Then the service starts again on the same database and takes events as before.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { workerEvents } from '../lib/events.js'
import { cleanup, loggedProblems, profileLoad, serviceFor, settle, tally, type Scenario } from '../lib/scenario.js'
import type { Service } from '../lib/service.js'

export const sigkill: Scenario = {
  name: 'sigkill',
  title: '(c) SIGKILL mid-load; durable mode: every 200 stored, then a clean restart on the same database',
  run: async context => {
    const { profile } = context
    const started = performance.now()
    let service: Service | undefined
    let restarted: Service | undefined
    try {
      const setup = await serviceFor(context, 'sigkill', { ACK_MODE: 'durable' })
      service = setup.service
      const load = profileLoad(service, profile, { maxDurationMs: profile.warmMs + 30_000 })
      await sleep(profile.warmMs)
      const inBuffer = await service.metric('ingest_buffer_events')
      context.note(`sigkill: SIGKILL after ${load.report.acked.size} acknowledgements, ${inBuffer} events in the buffer`)
      const exit = await service.stop('SIGKILL')
      const report = await load.stop()
      const result = await settle('sigkill', started, report, setup.databaseUrl, [service])
      if (exit.signal !== 'SIGKILL') result.failures.push(`expected death by SIGKILL, got ${exit.code ?? exit.signal}`)

      // The same database, a new process: it must start, be ready and store events.
      const restartAt = performance.now()
      restarted = (await serviceFor(context, 'sigkill-restart', { ACK_MODE: 'durable' }, setup.databaseUrl)).service
      const ready = await fetch(`${restarted.url}/readyz`).then(res => res.status, () => 0)
      // A worker number no load worker has: users of its own.
      const probe = workerEvents(999).next()
      const probeStatus = await fetch(`${restarted.url}/data`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(probe)
      }).then(res => res.status, () => 0)
      const restartSeconds = (performance.now() - restartAt) / 1000
      const restartExit = await restarted.stop('SIGTERM')
      const after = await settle('sigkill', started, report, setup.databaseUrl, [service, restarted])
      result.peakRssBytes = after.peakRssBytes
      if (ready !== 200) result.failures.push(`restarted service: /readyz ${ready}, expected 200`)
      if (probeStatus !== 200) result.failures.push(`restarted service: POST /data ${probeStatus}, expected 200`)
      if (restartExit.code !== 0) result.failures.push(`restarted service: exit ${restartExit.code ?? restartExit.signal} after SIGTERM, expected 0`)
      if (restarted.diedOnItsOwn !== undefined) result.failures.push(`restarted: ${restarted.diedOnItsOwn}`)
      if (after.lost > 0) result.failures.push('acknowledged events missing after the restart')
      if (after.stored !== result.stored + (probeStatus === 200 ? 1 : 0)) result.failures.push(`rows after the restart: ${after.stored}, expected ${result.stored} + the probe`)
      result.facts = {
        'in buffer at SIGKILL': inBuffer,
        'restart to first 200 s': Number(restartSeconds.toFixed(2)),
        'no answer': tally(report.networkErrors) || 0,
        logged: loggedProblems(service),
        'logged after restart': loggedProblems(restarted)
      }
      return result
    } finally {
      await cleanup(service)
      await cleanup(restarted)
    }
  }
}
