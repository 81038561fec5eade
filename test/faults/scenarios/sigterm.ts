/**
 * (b) SIGTERM mid-load: the service stops taking events (503 INGEST_SHUTTING_DOWN), answers the
 * requests it holds as their batches commit, drains its buffer and exits 0. Durable mode: every
 * 200 is stored. Buffered mode (the same fault, the stronger promise): every 202 is stored too,
 * because the drain writes the buffer before the pool closes.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { AckMode } from '../../../src/config.js'
import { answerFacts, cleanup, profileLoad, serviceFor, settle, type Scenario } from '../lib/scenario.js'
import type { Service } from '../lib/service.js'

const SHUTDOWN_TIMEOUT_MS = 10_000

export function sigterm (ackMode: AckMode): Scenario {
  const name = ackMode === AckMode.durable ? 'sigterm' : `sigterm-${ackMode}`
  return {
    name,
    title: `(b) SIGTERM mid-load; ${ackMode} mode: exit 0, every ${ackMode === AckMode.durable ? '200' : '202'} stored`,
    run: async context => {
      const { profile } = context
      const started = performance.now()
      let service: Service | undefined
      try {
        const setup = await serviceFor(context, name, { ACK_MODE: ackMode, SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) })
        service = setup.service
        const load = profileLoad(service, profile, { maxDurationMs: profile.warmMs + SHUTDOWN_TIMEOUT_MS + 30_000 })
        await sleep(profile.warmMs)
        const ackedBefore = load.report.acked.size
        const buffered = await service.metric('ingest_buffer_events')
        context.note(`${name}: SIGTERM after ${ackedBefore} acknowledgements, ${buffered} events in the buffer`)
        const exit = await service.stop('SIGTERM', SHUTDOWN_TIMEOUT_MS + 20_000)
        const report = await load.stop()

        const result = await settle(name, started, report, setup.databaseUrl, [service])
        if (exit.signal !== null || exit.code !== 0) result.failures.push(`exit ${exit.code ?? exit.signal} after SIGTERM, expected 0`)
        if (exit.ms > SHUTDOWN_TIMEOUT_MS + 2_000) result.failures.push(`took ${exit.ms} ms to exit, SHUTDOWN_TIMEOUT_MS is ${SHUTDOWN_TIMEOUT_MS}`)
        result.facts = {
          'exit ms': exit.ms,
          'buffered at SIGTERM': buffered,
          ...answerFacts(report, service)
        }
        return result
      } finally {
        await cleanup(service)
      }
    }
  }
}
