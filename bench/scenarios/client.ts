/**
 * The client (`metrics-ingest/client`) as a sender would run it: events tracked one at a time in
 * this process as fast as the client takes them (the caller waits while 20,000 are queued), sent
 * as NDJSON batches of 1,000 with 10 requests in flight — the same shape as batch-1000's 10
 * connections of 1,000 events, so the two compare the client's cost (validation, ids, NDJSON,
 * gzip, bookkeeping) against raw pre-built bodies. Durable service, its defaults.
 */
import { eventSource } from '../../harness/events.js'
import { IngestClient } from '../../src/client/index.js'
import { cpuPerEvent, cpuUsage, formatCpu, readCpu } from '../lib/measure/cpu-usage.js'
import { waitForDrain } from '../lib/measure/drain.js'
import { startService } from '../lib/run/processes.js'
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.js'

const BATCH = 1_000
const IN_FLIGHT = 10
const QUEUE_HIGH = 20_000

interface Window { seconds: number, acknowledged: number }

/** Tracks events for `seconds`; the events the server acknowledged in that time. */
async function trackFor (client: IngestClient, next: () => Record<string, unknown>, seconds: number, label: string, progress: (line: string) => void): Promise<Window> {
  const started = performance.now()
  const sentBefore = client.stats.sent
  const deadline = started + seconds * 1000
  let tick = started + 1000
  let lastSent = sentBefore
  while (performance.now() < deadline) {
    if (client.stats.queued >= QUEUE_HIGH) {
      await new Promise(resolve => setImmediate(resolve))
    } else {
      for (let i = 0; i < 100; i++) {
        const result = client.track(next() as never)
        if (!result.accepted) throw new Error(`client refused an event: ${result.reason}`)
      }
    }
    const now = performance.now()
    if (now >= tick) {
      progress(`${label}  ${Math.round((now - started) / 1000)}/${seconds} s  ${(client.stats.sent - lastSent).toLocaleString('en-US')} events/s acknowledged`)
      lastSent = client.stats.sent
      tick += 1000
    }
  }
  return { seconds: (performance.now() - started) / 1000, acknowledged: client.stats.sent - sentBefore }
}

async function run (context: ScenarioContext): Promise<ScenarioResult> {
  const { options, database, pinning, progress } = context
  await database.reset()
  const server = await startService({ DATABASE_URL: database.url, ACK_MODE: 'durable', ...options.serviceEnv }, { prefix: pinning.serverCommand })
  const source = eventSource({ seed: 7 })
  const next = (): Record<string, unknown> => ({ ...source.next() })
  try {
    if (options.warmup > 0) {
      const warm = new IngestClient({ url: server.url, maxBatchEvents: BATCH, maxInFlight: IN_FLIGHT })
      await trackFor(warm, next, options.warmup, 'client warm-up', progress)
      await warm.close({ timeoutMs: 60_000 })
      await waitForDrain(server.url)
      // As after every warm-up (http-scenario.ts): the users and sessions stay.
      await database.emptyMetrics()
    }
    const client = new IngestClient({ url: server.url, maxBatchEvents: BATCH, maxInFlight: IN_FLIGHT })
    const cpuBefore = readCpu(server.pid, database.serverPid)
    const window = await trackFor(client, next, options.duration, 'client measure', progress)
    const cpu = cpuUsage(cpuBefore, readCpu(server.pid, database.serverPid))
    progress(`client ${formatCpu(cpu)}`)
    const report = await client.close({ timeoutMs: 60_000 })
    await waitForDrain(server.url)
    const stored = await database.countEvents()
    const { stats } = client
    const lost = stats.sent - stored
    const passed = lost === 0 && report.undelivered.length === 0 && stats.rejected === 0
    const message = passed
      ? `ok: ${stored} rows = ${stats.sent} acknowledged by the server through the client`
      : `LOST: ${stats.sent} acknowledged, ${stored} rows, ${report.undelivered.length} undelivered, ${stats.rejected} rejected`
    progress(`client no-loss: ${message}`)
    const eventsPerSecond = window.acknowledged / window.seconds
    return {
      name: clientScenario.name,
      description: clientScenario.description,
      config: { client: { maxBatchEvents: BATCH, maxInFlight: IN_FLIGHT, validate: true, gzipAboveBytes: 16_384 }, target: 'dist/server.js', env: { ACK_MODE: 'durable', note: 'service defaults otherwise' }, warmupSeconds: options.warmup },
      seconds: window.seconds,
      requestsPerSecond: eventsPerSecond / BATCH,
      eventsPerSecond,
      cpuPerEvent: cpuPerEvent(cpu, eventsPerSecond, { service: true }),
      cpu,
      noLoss: { passed, acked: stats.sent, unansweredEvents: 0, storedAtEnd: stored, stored, message },
      notes: [
        `acknowledged in the window: ${window.acknowledged}; client totals: sent ${stats.sent}, retried ${stats.retried}, duplicates ${stats.duplicates}, dropped ${stats.dropped}, rejected ${stats.rejected}`,
        'the client runs in the bench process: its CPU is the load generator\'s',
        formatCpu(cpu)
      ]
    }
  } finally {
    await server.stop()
  }
}

export const clientScenario: Scenario = {
  name: 'client',
  description: 'metrics-ingest/client tracking events one by one: NDJSON batches of 1,000, 10 in flight, validated, durable',
  usesService: true,
  run
}
