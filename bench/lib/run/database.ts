/**
 * The database every scenario writes to: DATABASE_URL's server when it is set, otherwise a fresh
 * embedded PostgreSQL with PostgreSQL's own (production) durability settings — fsync on,
 * synchronous_commit on — in a directory on the project's disk (not /tmp, which may be tmpfs,
 * where an fsync costs nothing). Migrated like production, truncated before each scenario.
 */
import { execFileSync } from 'node:child_process'
import { mkdir, readdir, readFile, rm, chmod } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import postgres, { type Sql } from 'postgres'
import { startEmbeddedPostgres } from '../../../src/database/embedded.js'
import { PartitionInterval } from '../../../src/config.js'
import { migrate } from '../../../src/database/migrate.js'
import { ensurePartitions, upcoming } from '../../../src/storage/partitions.js'
import { freePort } from '../../../harness/free-port.js'
import { enableStatements, STATEMENTS_SERVER_FLAGS } from '../measure/statements.js'
import { pinTree, type Pinning } from './pinning.js'

const DAY_MS = 86_400_000

export interface BenchDatabase {
  url: string
  /** The runner's own pool: counts, truncates, the commit baseline. Never the service's. */
  sql: Sql
  embedded: boolean
  /** `select version()`. */
  version: string
  /** The settings that decide what a commit costs. */
  settings: Record<string, string>
  /** Where the data lives and on what filesystem (embedded only). */
  dataDir?: string
  filesystem?: string
  /** How PostgreSQL was placed on the cores. */
  pinning: string
  /** The postmaster (embedded only): its process tree is PostgreSQL's CPU. */
  serverPid?: number
  /** pg_stat_statements is loaded and usable. */
  statements: boolean
  /** Empties the three tables and checkpoints, so one scenario's dirty pages do not slow the next. */
  reset: () => Promise<void>
  /**
   * Empties user_metrics and checkpoints, after a warm-up: the users and sessions it wrote stay,
   * as they would behind a service that has been running, so its row cache stays true and the
   * window measures the steady state rather than the cache refilling after rows vanished.
   */
  emptyMetrics: () => Promise<void>
  /** Rows in user_metrics: one per stored event. */
  countEvents: () => Promise<number>
  stop: () => Promise<void>
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const quiet = pino({ level: 'silent' })

const SETTINGS = ['fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'commit_delay', 'shared_buffers', 'max_wal_size']

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * .data/bench-<pid> directories of runs that died without cleaning up (SIGKILL, a crash): stop
 * the PostgreSQL still running there, if any (SIGINT: fast shutdown), and remove the directory.
 */
async function removeStaleRuns (): Promise<void> {
  const parent = resolve(ROOT, '.data')
  const entries = await readdir(parent).catch(() => [] as string[])
  for (const entry of entries) {
    const owner = /^bench-(\d+)$/.exec(entry)?.[1]
    if (owner === undefined || alive(Number(owner))) continue
    const dir = join(parent, entry)
    const postmaster = Number((await readFile(join(dir, 'pg', 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0])
    if (postmaster > 0 && alive(postmaster)) {
      process.kill(postmaster, 'SIGINT')
      for (let waited = 0; waited < 30_000 && alive(postmaster); waited += 100) await sleep(100)
    }
    await rm(dir, { recursive: true, force: true })
  }
}

function filesystemOf (dir: string): string {
  try {
    return execFileSync('findmnt', ['-n', '-o', 'FSTYPE,SOURCE', '-T', dir], { encoding: 'utf8' }).trim().replace(/\s+/, ' on ')
  } catch {
    return 'unknown'
  }
}

export async function openBenchDatabase (pinning: Pinning, { statements = false } = {}): Promise<BenchDatabase> {
  let url = process.env.DATABASE_URL
  let stopServer = async (): Promise<void> => {}
  let dataDir: string | undefined
  let serverPid: number | undefined
  let pinned = 'not pinned'
  if (url === undefined || url === '') {
    await removeStaleRuns()
    // .data/ is git-ignored; one directory per run, removed at the end.
    const dir = resolve(ROOT, '.data', `bench-${process.pid}`)
    await mkdir(dir, { recursive: true })
    // The cluster runs as the `postgres` user when we are root: it must reach its directory.
    await chmod(dir, 0o755)
    dataDir = join(dir, 'pg')
    const embedded = await startEmbeddedPostgres({
      dataDir,
      port: await freePort(),
      database: 'bench',
      log: quiet,
      // Durability stays PostgreSQL's default (fsync, synchronous_commit on): never fsync=off here.
      serverFlags: statements ? STATEMENTS_SERVER_FLAGS : []
    })
    url = embedded.url
    stopServer = async () => {
      await embedded.stop()
      await rm(dir, { recursive: true, force: true })
    }
    serverPid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0])
    if (pinning.enabled && pinning.serverCores !== undefined) {
      pinTree(serverPid, pinning.serverCores)
      pinned = `taskset: core ${pinning.serverCores} (postmaster ${serverPid} and its children)`
    }
  } else if (pinning.enabled) {
    pinned = 'not pinned (DATABASE_URL: not ours to pin)'
  }

  const sql = postgres(url, { max: 2, onnotice: () => {}, connection: { application_name: 'metrics-ingest-bench' } })
  try {
    await migrate(sql, quiet)
    // The partitions the service makes at start-up (yesterday's too: the traffic's timestamps reach
    // an hour back), for the scenarios that write without it — ceiling-copy's COPY.
    await ensurePartitions(sql, PartitionInterval.day, upcoming(Date.now() - DAY_MS, 4, PartitionInterval.day))
    const [{ version }] = await sql<[{ version: string }]>`select version()`
    const rows = await sql<Array<{ name: string, setting: string, unit: string | null }>>`
      select name, setting, unit from pg_settings where name = any(${SETTINGS})`
    const settings = Object.fromEntries(rows.map(row => [row.name, row.unit === null ? row.setting : `${row.setting} × ${row.unit}`]))
    const statementsReady = statements && await enableStatements(sql)

    return {
      url,
      sql,
      embedded: dataDir !== undefined,
      version,
      settings,
      ...(dataDir !== undefined ? { dataDir, filesystem: filesystemOf(dataDir) } : {}),
      pinning: pinned,
      ...(serverPid !== undefined ? { serverPid } : {}),
      statements: statementsReady,
      reset: async () => {
        await sql`truncate user_metrics, sessions, users restart identity`
        // Needs superuser or pg_checkpoint on someone else's server: without it, carry on.
        await sql`checkpoint`.catch(() => {})
      },
      emptyMetrics: async () => {
        await sql`truncate user_metrics restart identity`
        await sql`checkpoint`.catch(() => {})
      },
      countEvents: async () => {
        const [{ n }] = await sql<[{ n: number }]>`select count(*)::int as n from user_metrics`
        return n
      },
      stop: async () => {
        await sql.end({ timeout: 5 })
        await stopServer()
      }
    }
  } catch (err) {
    await sql.end({ timeout: 1 })
    await stopServer()
    throw err
  }
}
