/**
 * A first look (issue 2): POST /data at 100 connections, durable, against the same service
 * with FLUSH_MAX_ROWS=1 (one transaction per request, the origin's design) in the same run.
 *
 *   npm run build && npx tsx bench/single-event.ts [--duration 10] [--connections 100]
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import pino from 'pino'
import postgres from 'postgres'
import { startEmbeddedPostgres } from '../src/database/embedded.js'
import { bodyPool } from './lib/events.js'
import { startService } from './lib/server.js'

const { values } = parseArgs({ options: { duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '100' } } })
const duration = Number(values.duration)
const connections = Number(values.connections)

const dir = await mkdtemp(join(tmpdir(), 'bench-'))
await chmod(dir, 0o755)
const log = pino({ level: 'warn' })
const free = await import('../test/helpers/database.js').then(m => m.freePort())
const database = process.env.DATABASE_URL === undefined
  ? await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: free, database: 'bench', log })
  : { url: process.env.DATABASE_URL, stop: async () => {} }
const sql = postgres(database.url, { max: 1, onnotice: () => {} })
const bodies = bodyPool()

async function load (url: string, seconds: number): Promise<autocannon.Result> {
  let i = 0
  return await autocannon({
    url: `${url}/data`,
    connections,
    duration: seconds,
    requests: [{
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      setupRequest: req => ({ ...req, body: bodies[i++ % bodies.length] })
    }]
  })
}

interface Row { scenario: string, 'req/s': number, 'committed/s': number, p50: number, p90: number, p99: number, max: number, non2xx: number, errors: number }
const rows: Row[] = []
for (const [scenario, env] of [['batched (defaults)', {}], ['FLUSH_MAX_ROWS=1', { FLUSH_MAX_ROWS: '1' }]] as const) {
  const service = await startService({ DATABASE_URL: database.url, ...env })
  await load(service.url, 3) // warm-up, not recorded
  await sql`truncate user_metrics, sessions, users`
  const result = await load(service.url, duration)
  const [{ n }] = await sql`select count(*)::int as n from user_metrics` as unknown as [{ n: number }]
  await service.stop()
  rows.push({
    scenario,
    'req/s': Math.round(result.requests.average),
    'committed/s': Math.round(n / duration),
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors
  })
}
await sql.end()
await database.stop()
await rm(dir, { recursive: true, force: true })

console.log(`machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${connections} connections, ${duration} s`)
console.table(rows)
const [batched, naive] = rows
if (batched !== undefined && naive !== undefined) console.log(`batched ÷ FLUSH_MAX_ROWS=1: ${(batched['committed/s'] / naive['committed/s']).toFixed(1)}×`)
