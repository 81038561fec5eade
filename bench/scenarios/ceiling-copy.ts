/**
 * The database's ingest ceiling: postgres.js `COPY … FROM STDIN` of the same traffic into the
 * same schema — users, sessions, then user_metrics, one transaction per chunk — with no HTTP, no
 * validation and no upserts. batch-1000 is compared with it.
 */
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import postgres, { type Sql } from 'postgres'
import { eventSource } from '../../harness/events.js'
import { AckMode } from '../../src/config.js'
import { ChunkSequence, COPY_COLUMNS } from '../lib/load/copy-rows.js'
import { noDelaySocket } from '../lib/load/no-delay.js'
import { cpuPerEvent, cpuUsage, formatCpu, readCpu } from '../lib/measure/cpu-usage.js'
import { formatIo, ioUsage, readIo } from '../lib/measure/io-usage.js'
import { Samples } from '../lib/measure/latency.js'
import { checkNoLoss } from '../lib/measure/no-loss.js'
import { resetStatements, topStatements } from '../lib/measure/statements.js'
import { formatWaits, sampleWaits } from '../lib/measure/wait-events.js'
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.js'

// As the service's defaults: FLUSH_CONCURRENCY transactions in flight, FLUSH_MAX_ROWS rows each.
const STREAMS = 2
const CHUNK_ROWS = 2_000
// The HTTP scenarios' spread traffic (harness/events.ts): 10,000 users, 10 sessions each — split
// between the streams, so no two concurrent transactions insert the same user or session.
const USERS = 10_000
// Chunks are encoded before the run for this many rows a second (above what this machine can do);
// a faster database gets the rest encoded on the fly, and the report says so.
const PREBUILT_ROWS_PER_SECOND = 80_000
const APPLICATION = 'metrics-ingest-bench-copy'

interface Stream {
  sql: Sql
  chunks: ChunkSequence
}

async function copyChunk (stream: Stream): Promise<number> {
  const chunk = stream.chunks.next()
  await stream.sql.begin(async tx => {
    // Sessions reference users through a deferred FK, checked at commit.
    if (chunk.users !== '') await pipeline(Readable.from([chunk.users]), await tx.unsafe(`copy ${COPY_COLUMNS.users} from stdin`).writable())
    if (chunk.sessions !== '') await pipeline(Readable.from([chunk.sessions]), await tx.unsafe(`copy ${COPY_COLUMNS.sessions} from stdin`).writable())
    await pipeline(Readable.from([chunk.metrics]), await tx.unsafe(`copy ${COPY_COLUMNS.metrics} from stdin`).writable())
  })
  return chunk.rows
}

interface Phase { rows: number, chunks: number, seconds: number, latencies: Samples }

/** Every stream copies chunk after chunk until `seconds` have passed; a chunk under way finishes. */
async function copyFor (streams: Stream[], seconds: number, label: string, progress: (line: string) => void): Promise<Phase> {
  const latencies = new Samples()
  const started = performance.now()
  const deadline = started + seconds * 1000
  let rows = 0
  let chunks = 0
  let lastSecondRows = 0
  let tick = 0
  const timer = setInterval(() => {
    tick++
    if (tick <= seconds) progress(`${label}  ${tick}/${seconds} s  ${(rows - lastSecondRows).toLocaleString('en')} rows/s  (mean ${Math.round(rows / tick).toLocaleString('en')})`)
    lastSecondRows = rows
  }, 1000)
  let finished = started
  try {
    await Promise.all(streams.map(async stream => {
      while (performance.now() < deadline) {
        const t0 = performance.now()
        // Not `rows += await …`: that reads `rows` before the await and loses the other stream's chunks.
        const copied = await copyChunk(stream)
        rows += copied
        chunks++
        finished = performance.now()
        latencies.push(finished - t0)
      }
    }))
  } finally {
    clearInterval(timer)
  }
  return { rows, chunks, seconds: (finished - started) / 1000, latencies }
}

async function run ({ options, database, progress }: ScenarioContext): Promise<ScenarioResult> {
  const usersPerStream = USERS / STREAMS
  const prebuild = Math.ceil(options.duration * PREBUILT_ROWS_PER_SECOND / STREAMS / CHUNK_ROWS)
  progress(`ceiling-copy: encoding ${(prebuild * STREAMS * CHUNK_ROWS).toLocaleString('en')} rows before the run`)
  const clientOptions = {
    max: 1,
    onnotice: () => {},
    connection: { application_name: APPLICATION },
    // Nagle's algorithm would hold each COPY's CopyDone for a delayed ACK: see no-delay.ts.
    // (A documented postgres.js option its type definitions leave out, hence the variable.)
    socket: noDelaySocket(database.url)
  }
  const streams: Stream[] = Array.from({ length: STREAMS }, (_, k) => ({
    sql: postgres(database.url, clientOptions),
    chunks: new ChunkSequence(eventSource({ users: usersPerStream, firstUser: 1 + k * usersPerStream, seed: k + 1 }), CHUNK_ROWS, prebuild)
  }))
  try {
    await database.reset()
    if (options.warmup > 0) {
      await copyFor(streams, options.warmup, 'ceiling-copy warm-up', progress)
      await database.reset()
      for (const stream of streams) stream.chunks.rewind()
    }
    if (database.statements) await resetStatements(database.sql)
    const ioBefore = await readIo(database.sql)
    const cpuBefore = readCpu(undefined, database.serverPid)
    const sampler = sampleWaits(database.sql, APPLICATION)
    const phase = await copyFor(streams, options.duration, 'ceiling-copy measure', progress)
    const cpu = cpuUsage(cpuBefore, readCpu(undefined, database.serverPid))
    const waits = await sampler.stop()
    progress(`ceiling-copy ${formatWaits(waits)}`)
    const io = ioUsage(ioBefore, await readIo(database.sql), phase.rows)
    progress(`ceiling-copy ${formatCpu(cpu)}`)
    progress(`ceiling-copy ${formatIo(io)}`)
    const statements = database.statements ? await topStatements(database.sql) : undefined
    const stored = await database.countEvents()
    // Every committed chunk's rows, no more: the same check as the HTTP scenarios, a chunk for a request.
    const noLoss = checkNoLoss({
      ackMode: AckMode.durable,
      eventsPerRequest: CHUNK_ROWS,
      ok: phase.chunks,
      sent: phase.chunks,
      responses: phase.chunks,
      storedAtEnd: stored,
      storedAfterDrain: stored
    })
    progress(`ceiling-copy no-loss: ${noLoss.message}`)
    const eventsPerSecond = stored / phase.seconds
    const chunkLatency = phase.latencies.summary()
    const builtDuringRun = streams.reduce((n, stream) => n + stream.chunks.builtDuringRun, 0)
    return {
      name: ceilingCopy.name,
      description: ceilingCopy.description,
      config: { streams: STREAMS, rowsPerTransaction: CHUNK_ROWS, users: USERS, sessionsPerUser: 10, tcpNoDelay: true, warmupSeconds: options.warmup },
      seconds: phase.seconds,
      eventsPerSecond,
      cpuPerEvent: cpuPerEvent(cpu, eventsPerSecond, { service: false }),
      noLoss,
      cpu,
      io,
      ...(statements !== undefined ? { statements } : {}),
      waits,
      notes: [
        formatCpu(cpu),
        formatIo(io),
        formatWaits(waits),
        ...(chunkLatency === undefined ? [] : [`${phase.chunks} transactions of ${CHUNK_ROWS} rows on ${STREAMS} connections; per transaction p50 ${chunkLatency.p50.toFixed(1)} ms, p99 ${chunkLatency.p99.toFixed(1)} ms`]),
        ...(builtDuringRun > 0 ? [`${builtDuringRun} chunks were encoded during the run (the pre-built ones ran out): client CPU taken from the database`] : [])
      ]
    }
  } finally {
    await Promise.all(streams.map(async stream => { await stream.sql.end({ timeout: 5 }) }))
  }
}

export const ceilingCopy: Scenario = {
  name: 'ceiling-copy',
  description: `COPY FROM STDIN of the same traffic into the same tables, ${STREAMS} connections, ${CHUNK_ROWS.toLocaleString('en')} rows a transaction: the database's ingest ceiling`,
  usesService: false,
  run
}
