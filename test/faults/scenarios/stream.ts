/**
 * (j) ACK_MODE=stream: real nats-server processes with JetStream between ingest processes
 * (ROLE=ingest, answering 202 once the stream holds a request) and writer processes
 * (ROLE=writer). In every scenario the load stops, the writers drain the stream, and then
 * acknowledged = stored with nothing twice.
 * - stream-pg-outage: PostgreSQL stopped mid-load (30 s in the full run): ingest keeps answering 202.
 * - stream-sigkill: a writer SIGKILLed mid-batch, then an ingest process SIGKILLed mid-load.
 * - stream-nats-node: the stream's leader in a three-node cluster SIGKILLed mid-load (R3), then restarted.
 * - stream-full: a small stream fills with no writer running: 503 + Retry-After, then a writer drains it.
 */
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { NatsCluster } from '../../../harness/nats-process.js'
import { firstAckAfter, type Load } from '../lib/load.js'
import { answerFacts, cleanup, loggedProblems, profileLoad, settle, tally, type Scenario, type ScenarioContext, type ScenarioResult } from '../lib/scenario.js'
import { Service } from '../lib/service.js'

const STREAM = 'FAULTS'
// Writers report progress on what they hold; a killed writer's messages come back after this.
const ACK_WAIT_SECONDS = '5'
const DRAIN_TIMEOUT_MS = 120_000
// How long the killed NATS node stays down.
const NODE_DOWN_MS = 10_000

interface Rig {
  context: ScenarioContext
  name: string
  nats: NatsCluster
  databaseUrl: string
  services: Service[]
}

async function rig (context: ScenarioContext, name: string, nodes: number): Promise<Rig> {
  const nats = await NatsCluster.start({ nodes })
  const databaseUrl = await context.cluster.createDatabase(name.replaceAll('-', '_'))
  return { context, name, nats, databaseUrl, services: [] }
}

/** One process of the rig: `role` ingest or writer, on the rig's NATS and database. */
async function start (r: Rig, role: 'ingest' | 'writer', label: string, env: Record<string, string> = {}): Promise<Service> {
  const service = await Service.start({
    entry: r.context.entry,
    databaseUrl: r.databaseUrl,
    env: {
      ACK_MODE: 'stream',
      ROLE: role,
      NATS_URL: r.nats.url,
      STREAM_NAME: STREAM,
      STREAM_REPLICAS: String(r.nats.size),
      WRITER_ACK_WAIT_SECONDS: ACK_WAIT_SECONDS,
      ...env
    },
    logFile: join(r.context.logDir, `${r.name}-${label}.log`)
  })
  r.services.push(service)
  r.context.note(`${r.name}: ${label} (ROLE=${role}) pid ${service.pid} at ${service.url}`)
  return service
}

/** Stops the load, lets the writers empty the stream, stops every process and counts. */
async function finish (r: Rig, load: Load, started: number, failures: string[]): Promise<ScenarioResult> {
  const report = await load.stop()
  const drainStarted = performance.now()
  const drained = await r.nats.waitDrained(STREAM, DRAIN_TIMEOUT_MS)
  const drainSeconds = (performance.now() - drainStarted) / 1000
  if (!drained) failures.push(`the stream still held messages ${DRAIN_TIMEOUT_MS / 1000} s after the load stopped`)
  for (const service of r.services) {
    if (service.exit !== undefined) continue
    const exit = await service.stop('SIGTERM')
    if (exit.code !== 0) failures.push(`${service.url}: exit ${exit.code ?? exit.signal} after SIGTERM, expected 0`)
  }
  const result = await settle(r.name, started, report, r.databaseUrl, r.services)
  result.failures.push(...failures)
  result.facts = {
    'drained s after the load': Number(drainSeconds.toFixed(2)),
    ...answerFacts(report, r.services[0]!),
    logged: r.services.map(loggedProblems).filter(line => line !== '').join(' | ')
  }
  return result
}

async function release (r: Rig | undefined): Promise<void> {
  if (r === undefined) return
  for (const service of r.services) await cleanup(service)
  await r.nats.close()
}

export const streamPgOutage: Scenario = {
  name: 'stream-pg-outage',
  title: '(j) stream mode: PostgreSQL stopped mid-load; ingest keeps answering 202, every 202 stored once after it returns',
  run: async context => {
    const { profile, cluster } = context
    const outageMs = profile.name === 'full' ? 30_000 : 3_000
    const started = performance.now()
    let r: Rig | undefined
    try {
      r = await rig(context, 'stream-pg-outage', 1)
      const ingest = await start(r, 'ingest', 'ingest')
      await start(r, 'writer', 'writer')
      const load = profileLoad(ingest, profile, { maxDurationMs: profile.warmMs + outageMs + profile.afterMs + 60_000 })
      await sleep(profile.warmMs)
      await cluster.stop('fast')
      const downAt = performance.now()
      const statusesBefore = new Map(load.report.statuses)
      await sleep(outageMs)
      const ackedWhileDown = load.report.ackTimes.filter(at => at >= downAt).length
      const refusedWhileDown = (load.report.statuses.get(503) ?? 0) - (statusesBefore.get(503) ?? 0)
      await cluster.start()
      context.note(`stream-pg-outage: PostgreSQL down ${((performance.now() - downAt) / 1000).toFixed(1)} s; ${ackedWhileDown} events acknowledged meanwhile, ${refusedWhileDown} requests refused`)
      await sleep(profile.afterMs)
      const failures: string[] = []
      if (ackedWhileDown === 0) failures.push('nothing acknowledged while PostgreSQL was down')
      if (refusedWhileDown > 0) failures.push(`${refusedWhileDown} requests refused while PostgreSQL was down: ingest must not depend on it`)
      const result = await finish(r, load, started, failures)
      result.facts = { 'down s': outageMs / 1000, 'acknowledged while down': ackedWhileDown, ...result.facts }
      return result
    } finally {
      await release(r)
      if (!cluster.running) await cluster.start()
    }
  }
}

export const streamSigkill: Scenario = {
  name: 'stream-sigkill',
  title: '(j) stream mode: SIGKILL one of two writers mid-batch, then an ingest process mid-load; every 202 stored once',
  run: async context => {
    const { profile } = context
    const started = performance.now()
    let r: Rig | undefined
    try {
      r = await rig(context, 'stream-sigkill', 1)
      const ingest = await start(r, 'ingest', 'ingest')
      const writer1 = await start(r, 'writer', 'writer1')
      await start(r, 'writer', 'writer2')
      const load = profileLoad(ingest, profile, { maxDurationMs: 4 * profile.warmMs + 60_000 })
      await sleep(profile.warmMs)
      const held = await writer1.metric('ingest_buffer_events')
      const writerKill = await writer1.stop('SIGKILL')
      const failures: string[] = []
      if (writerKill.signal !== 'SIGKILL') failures.push(`writer1: expected death by SIGKILL, got ${writerKill.code ?? writerKill.signal}`)
      await sleep(profile.warmMs)
      const ackedBeforeIngestKill = load.report.acked.size
      const ingestKill = await ingest.stop('SIGKILL')
      if (ingestKill.signal !== 'SIGKILL') failures.push(`ingest: expected death by SIGKILL, got ${ingestKill.code ?? ingestKill.signal}`)
      const result = await finish(r, load, started, failures)
      result.facts = { 'writer1 held at SIGKILL': held, 'acked before the ingest SIGKILL': ackedBeforeIngestKill, 'no answer': tally(load.report.networkErrors) || 0, ...result.facts }
      return result
    } finally {
      await release(r)
    }
  }
}

export const streamNatsNode: Scenario = {
  name: 'stream-nats-node',
  title: '(j) stream mode, 3-node NATS cluster (R3): the stream leader SIGKILLed mid-load and restarted; publishes go on, nothing lost',
  run: async context => {
    const { profile } = context
    const started = performance.now()
    let r: Rig | undefined
    try {
      r = await rig(context, 'stream-nats-node', 3)
      const ingest = await start(r, 'ingest', 'ingest')
      await start(r, 'writer', 'writer')
      const load = profileLoad(ingest, profile, { maxDurationMs: 3 * profile.warmMs + NODE_DOWN_MS + 60_000 })
      await sleep(profile.warmMs)
      // The stream's leader: the node whose loss costs an election, the harder case.
      const leader = await r.nats.streamLeader(STREAM)
      await r.nats.kill(leader)
      const downAt = performance.now()
      context.note(`stream-nats-node: node n${leader + 1}, the stream's leader, SIGKILLed`)
      // Long enough to see publishing resume on the two nodes left, after the election.
      await sleep(NODE_DOWN_MS)
      const ackedWhileDown = load.report.ackTimes.filter(at => at >= downAt).length
      const failover = firstAckAfter(load.report, downAt)
      const refusedWhileDown = load.report.statuses.get(503) ?? 0
      await r.nats.restart(leader)
      context.note(`stream-nats-node: n${leader + 1} back after ${((performance.now() - downAt) / 1000).toFixed(1)} s; ${ackedWhileDown} events acknowledged meanwhile, ${refusedWhileDown} requests refused`)
      await sleep(profile.afterMs)
      const failures: string[] = []
      if (ackedWhileDown === 0) failures.push('no publish acknowledged while one node of three was down')
      const result = await finish(r, load, started, failures)
      result.facts = {
        killed: `n${leader + 1} (leader)`,
        'first acknowledgement after the kill, s': failover === undefined ? '-' : Number(((failover - downAt) / 1000).toFixed(2)),
        'acknowledged while it was down': ackedWhileDown,
        '503 while it was down': refusedWhileDown,
        ...result.facts
      }
      return result
    } finally {
      await release(r)
    }
  }
}

export const streamFull: Scenario = {
  name: 'stream-full',
  title: '(j) stream mode: a small stream fills with no writer running; 503 + Retry-After, then a writer drains it and every 202 is stored',
  run: async context => {
    const { profile } = context
    const started = performance.now()
    let r: Rig | undefined
    try {
      r = await rig(context, 'stream-full', 1)
      const ingest = await start(r, 'ingest', 'ingest', { STREAM_MAX_MESSAGES: '500' })
      const load = profileLoad(ingest, profile, { maxDurationMs: 2 * profile.loadMs + 60_000 })
      await sleep(profile.loadMs)
      const full = load.report.codes503.get('INGEST_STREAM_FULL') ?? 0
      const failures: string[] = []
      if (full === 0) failures.push('no 503 INGEST_STREAM_FULL: the stream never filled')
      const notReady = await fetch(`${ingest.url}/readyz`).then(res => res.status, () => 0)
      if (notReady !== 503) failures.push(`/readyz of the full stream's ingest: ${notReady}, expected 503`)
      await start(r, 'writer', 'writer')
      await sleep(profile.afterMs)
      const result = await finish(r, load, started, failures)
      result.facts = { '503 stream full before the writer': full, ...result.facts }
      return result
    } finally {
      await release(r)
    }
  }
}
