/**
 * The real service as a child process (harness/service-process.ts): `node dist/server.js` (what
 * `npm start` runs), or src/server.ts through the caller's TypeScript loader — how the tap test
 * runs it, so it needs no build. Its output goes to a log file; warn-and-above lines are kept.
 */
import { createWriteStream } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { metricTotal, scrapeMetrics } from '../../../harness/prometheus-text.js'
import { ServiceProcess, type Exit } from '../../../harness/service-process.js'
import { onFreePort } from '../../../harness/free-port.js'
import { RssSampler } from './rss.js'

export interface ServiceOptions {
  /** dist/server.js, or a .ts entry run with this process's execArgv (its loader). */
  entry: string
  databaseUrl: string
  /** Extra configuration: ACK_MODE, RING_CAPACITY, … */
  env?: Record<string, string>
  /** Where stdout and stderr go. */
  logFile: string
  /** The port to listen on (a replica restarted where its load balancer expects it); default: a free one. */
  port?: number
  startTimeoutMs?: number
}

export interface LogRecord { level?: number, msg?: string, [key: string]: unknown }

export class Service {
  readonly url: string
  readonly rss: RssSampler
  /** Log lines at warn (40) or above, parsed. */
  readonly problems: LogRecord[] = []
  readonly #process: ServiceProcess

  private constructor (url: string, options: ServiceOptions) {
    this.url = url
    const log = createWriteStream(options.logFile, { flags: 'a' })
    this.#process = new ServiceProcess({
      entry: options.entry,
      env: {
        HOST: '127.0.0.1',
        PORT: new URL(url).port,
        // One line per request at info would cost the service more CPU than the load it measures.
        LOG_LEVEL: 'warn',
        ...options.env,
        DATABASE_URL: options.databaseUrl
      },
      onLine: (line, stream) => {
        log.write(`${line}\n`)
        if (stream === 'stdout') this.#keep(line)
      }
    })
    this.#process.exited.then(() => { setTimeout(() => log.end(), 100) }, () => {})
    this.rss = new RssSampler(this.#process.pid)
  }

  /**
   * Starts the service and waits until it listens on its port and /healthz there answers 200 —
   * on a free port unless `port` is given, again on another if someone took the port first.
   */
  static async start (options: ServiceOptions): Promise<Service> {
    if (options.port !== undefined) return await Service.#startOn(options.port, options)
    return await onFreePort(async port => await Service.#startOn(port, options))
  }

  static async #startOn (port: number, options: ServiceOptions): Promise<Service> {
    const service = new Service(`http://127.0.0.1:${port}`, options)
    await service.#process.waitUntilServing(port, async () => await fetch(`${service.url}/healthz`).then(res => res.status === 200, () => false), options.startTimeoutMs ?? 60_000)
    service.rss.start()
    return service
  }

  get pid (): number { return this.#process.pid }
  get exit (): Exit | undefined { return this.#process.exit }

  /** Why the process ended without being asked to (and its last error line), or undefined. */
  get diedOnItsOwn (): string | undefined {
    const exit = this.#process.exit
    if (exit === undefined || this.#process.stopRequested) return undefined
    const errors = this.problems.filter(record => (record.level ?? 50) >= 50)
    const last = errors.map(record => {
      const err = record.err as { type?: string, message?: string } | undefined
      return `${String(record.msg)}${err !== undefined ? ` (${err.type ?? 'Error'}: ${err.message ?? ''})` : ''}`
    }).slice(-3).join(' → ')
    return `the service exited on its own (${exit.code ?? exit.signal}) before the scenario stopped it; last errors: ${last || 'none logged'}`
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
    const exit = await this.#process.stop(signal, timeoutMs)
    this.rss.stop()
    return exit
  }

  /** Reads one sample of /metrics; NaN when the series is absent or the scrape fails. */
  async metric (name: string): Promise<number> {
    const samples = await scrapeMetrics(this.url).catch(() => new Map<string, number>())
    return metricTotal(samples, name) ?? NaN
  }

  /** Polls a gauge until it reads `value`; false if it did not within timeoutMs. */
  async waitForMetric (name: string, value: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline && this.exit === undefined) {
      if (await this.metric(name) === value) return true
      await sleep(200)
    }
    return false
  }
}
