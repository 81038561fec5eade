/**
 * (e) Poison rows mixed into the load: events that pass validation but that the database
 * refuses — a test trigger raises for talked_time = 666.25 s. The contract (poison-row
 * isolation, issue 5): a poison POST /data answers 422 INGEST_REJECTED_BY_DATABASE while the
 * other events of its flush commit; a POST /data/batch with poison items answers 200 with the
 * good ones accepted and each poison item in `rejected` as { index, code, message }; every
 * poison event is kept in ingest_rejects (the raw event as jsonb, its sqlstate and message).
 */
import postgres from 'postgres'
import { POISON_TALKED_TIME } from '../lib/events.js'
import { cleanup, loggedProblems, profileLoad, serviceFor, settle, type Scenario } from '../lib/scenario.js'
import type { Service } from '../lib/service.js'

const REJECTED_CODE = 'INGEST_REJECTED_BY_DATABASE'
/** RAISE EXCEPTION without a SQLSTATE raises P0001 (raise_exception). */
const TRIGGER_SQLSTATE = 'P0001'
/** About one event in POISON_EVERY is poison: most batches of 50 carry one. */
const POISON_EVERY = 40

export const poison: Scenario = {
  name: 'poison-rows',
  title: '(e) poison rows (a trigger refuses talked_time = 666.25 s) in /data and /data/batch; durable mode',
  run: async context => {
    const { profile } = context
    const started = performance.now()
    let service: Service | undefined
    try {
      const setup = await serviceFor(context, 'poison-rows', { ACK_MODE: 'durable' })
      service = setup.service
      const sql = postgres(setup.databaseUrl, { max: 1, onnotice: () => {} })
      try {
        await sql.unsafe(`
          create function faults_poison() returns trigger language plpgsql as $$
          begin
            if new.talked_time = make_interval(secs => ${POISON_TALKED_TIME}) then
              raise exception 'poison: talked_time ${POISON_TALKED_TIME} s is refused by the fault suite';
            end if;
            return new;
          end $$;
          create trigger faults_poison before insert on user_metrics
            for each row execute function faults_poison();`).simple()
      } finally {
        await sql.end({ timeout: 5 })
      }
      const load = profileLoad(service, profile, { poisonEvery: POISON_EVERY, maxDurationMs: profile.loadMs })
      const report = await load.done
      const exit = await service.stop('SIGTERM')

      const result = await settle('poison-rows', started, report, setup.databaseUrl, [service])
      const failures = result.failures
      if (result.fiveXx > 0) failures.push(`${result.fiveXx} 5xx: no outage and no overload here, so none is expected`)
      if (report.poisonSent.size === 0) failures.push('no poison event was sent')
      let poisonAcked = 0
      let poisonUnrefused = 0
      const wrongCodes = new Map<string, number>()
      for (const id of report.poisonSent) {
        if (report.acked.has(id)) { poisonAcked++; continue }
        const code = report.poisonRefused.get(id)
        if (code === undefined) poisonUnrefused++
        else if (code !== REJECTED_CODE) wrongCodes.set(code, (wrongCodes.get(code) ?? 0) + 1)
      }
      if (poisonAcked > 0) failures.push(`${poisonAcked} poison events acknowledged as stored`)
      if (poisonUnrefused > 0) failures.push(`${poisonUnrefused} poison events got no 422 / rejected entry`)
      if (wrongCodes.size > 0) failures.push(`poison refused with codes ${[...wrongCodes].map(([c, n]) => `${c}:${n}`).join(' ')}, expected ${REJECTED_CODE}`)
      if (report.goodRefused.size > 0) failures.push(`${report.goodRefused.size} good events refused one by one`)

      const check = postgres(setup.databaseUrl, { max: 1, onnotice: () => {} })
      let kept = new Map<string, string | null>()
      let poisonStored = 0
      try {
        poisonStored = (await check<Array<{ n: number }>>`
          select count(*)::int as n from user_metrics where talked_time = make_interval(secs => ${POISON_TALKED_TIME})`)[0]!.n
        const rows = await check<Array<{ id: string | null, sqlstate: string | null }>>`
          select event->>'event_id' as id, sqlstate from ingest_rejects`
        kept = new Map(rows.map(row => [row.id ?? '(null)', row.sqlstate]))
      } catch (err) {
        failures.push(`reading ingest_rejects: ${(err as Error).message}`)
      } finally {
        await check.end({ timeout: 5 })
      }
      if (poisonStored > 0) failures.push(`${poisonStored} poison rows in user_metrics`)
      let missing = 0
      let wrongState = 0
      for (const id of report.poisonRefused.keys()) {
        if (!kept.has(id)) missing++
        else if (kept.get(id) !== TRIGGER_SQLSTATE) wrongState++
      }
      if (missing > 0) failures.push(`${missing} refused poison events are not in ingest_rejects`)
      if (wrongState > 0) failures.push(`${wrongState} ingest_rejects rows without sqlstate ${TRIGGER_SQLSTATE}`)
      if (exit.code !== 0 && service.diedOnItsOwn === undefined) failures.push(`SIGTERM after the run: exit ${exit.code ?? exit.signal}, expected 0`)
      result.facts = {
        'poison sent': report.poisonSent.size,
        'poison refused': report.poisonRefused.size,
        'in ingest_rejects': kept.size,
        statuses: [...report.statuses].map(([status, n]) => `${status}:${n}`).join(' '),
        logged: loggedProblems(service)
      }
      return result
    } finally {
      await cleanup(service)
    }
  }
}
