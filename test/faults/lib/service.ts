/**
 * The real service as a child process: `node dist/server.js` (what `npm start` runs), or
 * src/server.ts through the caller's TypeScript loader (process.execArgv) — how the tap test
 * runs it, so it needs no build. Its output goes to a log file; warn-and-above lines are kept.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '../../helpers/ports.js'
import { RssSampler } from './rss.js'

export interface ServiceOptions {
  /** dist/server.js, or a .ts entry run with this process's execArgv (its loader). */
  entry: string
  databaseUrl: string
  /** Extra configuration: ACK_MODE, RING_CAPACITY, … */
  env?: Record<string, string>
  /** Where stdout and stderr go. */
  logFile: string
  startTimeoutMs?: number
}

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

export interface LogRecord { level?: number, msg?: string, [key: string]: unknown }

// Variables of the parent's environment that would change what is tested.
const CLEARED = ['METRICS_PORT', 'INGEST_API_KEYS', 'RATE_LIMIT_PER_MINUTE', 'EMBEDDED_PG_DIR', 'EMBEDDED_PG_PORT']

export class Service {
  readonly url: string
  readonly child: ChildProcess
  readonly exited: Promise<Exit>
  readonly rss: RssSampler
  /** Log lines at warn (40) or above, parsed. */
  readonly problems: LogRecord[] = []
  #exit: Exit | undefined
  #stopRequested = false

  private constructor (url: string, child: ChildProcess, exited: Promise<Exit>) {
    this.url = url
    this.child = child
    this.exited = exited
    exited.then(exit => { this.#exit = exit }, () => {})
    this.rss = new RssSampler(child.pid!)
  }

  static async start (options: ServiceOptions): Promise<Service> {
    const port = await freePort()
    const env: Record<string, string | undefined> = {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      // One line per request at info would cost the service more CPU than the load it measures.
      LOG_LEVEL: 'warn',
      ...options.env,
      DATABASE_URL: options.databaseUrl
    }
    for (const key of CLEARED) if (options.env?.[key] === undefined) delete env[key]
    const args = options.entry.endsWith('.ts') ? [...process.execArgv, options.entry] : [options.entry]
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    const log = createWriteStream(options.logFile, { flags: 'a' })
    const exited = new Promise<Exit>(resolve => {
      child.on('exit', (code, signal) => { resolve({ code, signal }) })
    })
    exited.then(() => { setTimeout(() => log.end(), 100) }, () => {})
    const url = `http://127.0.0.1:${port}`
    const service = new Service(url, child, exited)
    let partial = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk)
      partial += chunk.toString()
      let newline
      while ((newline = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, newline)
        partial = partial.slice(newline + 1)
        service.#keep(line)
      }
    })
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => {
      log.write(chunk)
      if (stderr.length < 10_000) stderr += chunk.toString()
    })

    const deadline = Date.now() + (options.startTimeoutMs ?? 60_000)
    while (Date.now() < deadline) {
      if (service.#exit !== undefined) {
        throw new Error(`service exited with ${service.#exit.code ?? service.#exit.signal} before serving: ${stderr.trim()}`)
      }
      const status = await fetch(`${url}/healthz`).then(res => res.status, () => 0)
      if (status === 200) {
        service.rss.start()
        return service
      }
      await sleep(100)
    }
    child.kill('SIGKILL')
    throw new Error(`service not serving after ${options.startTimeoutMs ?? 60_000} ms: ${stderr.trim()}`)
  }

  get pid (): number { return this.child.pid! }
  get exit (): Exit | undefined { return this.#exit }

  /** Why the process ended without being asked to (and its last error line), or undefined. */
  get diedOnItsOwn (): string | undefined {
    if (this.#exit === undefined || this.#stopRequested) return undefined
    const errors = this.problems.filter(record => (record.level ?? 50) >= 50)
    const last = errors.map(record => {
      const err = record.err as { type?: string, message?: string } | undefined
      return `${String(record.msg)}${err !== undefined ? ` (${err.type ?? 'Error'}: ${err.message ?? ''})` : ''}`
    }).slice(-3).join(' → ')
    return `the service exited on its own (${this.#exit.code ?? this.#exit.signal}) before the scenario stopped it; last errors: ${last || 'none logged'}`
  }

  #keep (line: string): void {
    if (line === '') return
    try {
      const record = JSON.parse(line) as LogRecord
      if ((record.level ?? 0) >= 40) this.problems.push(record)
    } catch {
      this.problems.push({ msg: line })
    }
  }

  /** Sends a signal and waits for the exit (SIGKILL after timeoutMs). */
  async stop (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<Exit & { ms: number }> {
    const started = Date.now()
    if (this.#exit === undefined) {
      this.#stopRequested = true
      this.child.kill(signal)
    }
    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, timeoutMs)
    const exit = await this.exited
    clearTimeout(timer)
    this.rss.stop()
    return { ...exit, ms: Date.now() - started }
  }

  /** Reads one sample of /metrics; NaN when the series is absent or the scrape fails. */
  async metric (name: string): Promise<number> {
    const text = await fetch(`${this.url}/metrics`).then(res => res.text(), () => '')
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)
    return match === null ? NaN : Number(match[1])
  }

  /** Polls a gauge until it reads `value`; false if it did not within timeoutMs. */
  async waitForMetric (name: string, value: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline && this.#exit === undefined) {
      if (await this.metric(name) === value) return true
      await sleep(200)
    }
    return false
  }
}
