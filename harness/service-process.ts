/**
 * The service — or any Node entry point, such as the bench's ceiling server — as a child process,
 * the one way bench/, the fault suite and the tests start it: `node <entry>`, a .ts entry through
 * this process's own loader (process.execArgv: tsx's for the runners, tap's for the tests, so the
 * child's coverage counts too), in an environment scrubbed of the shell's configuration, with
 * every line it writes handed to the caller.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { basename } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { listensOn } from './listening-port.js'
import { serviceEnv } from './service-env.js'

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

export interface ServiceProcessOptions {
  /** A .js file run by node, or a .ts file run with this process's execArgv (its loader). */
  entry: string
  /** The settings on top of the scrubbed environment: DATABASE_URL, PORT, ACK_MODE, … */
  env: Readonly<Record<string, string>>
  /** Prepended to the command, e.g. `taskset -c 0`. */
  prefix?: readonly string[]
  /** Flags for node itself, e.g. --cpu-prof (which Node 20 refuses in NODE_OPTIONS). */
  nodeArgs?: readonly string[]
  /** Every line of stdout and stderr, as it comes. */
  onLine: (line: string, stream: 'stdout' | 'stderr') => void
}

// The lines an error about the process quotes: enough for a stack or a pino error record.
const RECENT_LINES = 30
const POLL_MS = 100

const running = new Set<ChildProcess>()
// A runner or a test that dies (an exception, Ctrl-C) must not leave a service holding a port and a pool.
process.once('exit', () => { for (const child of running) child.kill('SIGKILL') })

export class ServiceProcess {
  readonly child: ChildProcess
  /** Settles when the process has exited, however it ended. */
  readonly exited: Promise<Exit>
  readonly #name: string
  readonly #recent: string[] = []
  #exit: Exit | undefined
  #stopRequested = false

  constructor (options: ServiceProcessOptions) {
    this.#name = basename(options.entry)
    const loader = options.entry.endsWith('.ts') ? process.execArgv : []
    const [command, ...args] = [...(options.prefix ?? []), process.execPath, ...(options.nodeArgs ?? []), ...loader, options.entry]
    this.child = spawn(command!, args, { env: serviceEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] })
    running.add(this.child)
    this.exited = new Promise(resolve => {
      this.child.once('exit', (code, signal) => {
        running.delete(this.child)
        this.#exit = { code, signal }
        resolve(this.#exit)
      })
    })
    // Both pipes are read to the end: a full pipe would block the child's logger.
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: this.child[stream]! }).on('line', line => {
        this.#recent.push(line)
        if (this.#recent.length > RECENT_LINES) this.#recent.shift()
        options.onLine(line, stream)
      })
    }
  }

  get pid (): number { return this.child.pid! }
  /** How it ended, once it has. */
  get exit (): Exit | undefined { return this.#exit }
  /** stop() was called: an exit since then was asked for. */
  get stopRequested (): boolean { return this.#stopRequested }

  /**
   * Asks `ready` every 100 ms until it gives a value (a port, an address, true), and returns it.
   * Throws when the process exits first, or kills it and throws after `timeoutMs`.
   */
  async waitUntil<T> (ready: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      if (this.#exit !== undefined) throw new Error(`${this.#name} exited with ${this.#exit.code ?? this.#exit.signal} before it was ready. Its last lines:\n${this.#recent.join('\n')}`)
      const value = await ready()
      if (value !== undefined) return value
      if (performance.now() > deadline) {
        this.child.kill('SIGKILL')
        throw new Error(`${this.#name} was not ready within ${timeoutMs / 1000} s. Its last lines:\n${this.#recent.join('\n')}`)
      }
      await sleep(POLL_MS)
    }
  }

  /**
   * waitUntil for a server on `port`: once this process holds a socket listening there — an
   * answer from a process that took the port first is not its own (a NATS monitor answers
   * /healthz 200 with the service's very body) — until `answers()` is true.
   */
  async waitUntilServing (port: number, answers: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    await this.waitUntil(async () => listensOn(this.pid, port) && await answers() ? true : undefined, timeoutMs)
  }

  /** Sends `signal` (unless it has exited already) and waits for the exit; SIGKILL after `timeoutMs`. */
  async stop (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<Exit & { ms: number }> {
    const started = Date.now()
    if (this.#exit === undefined) {
      this.#stopRequested = true
      this.child.kill(signal)
    }
    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, timeoutMs)
    const exit = await this.exited
    clearTimeout(timer)
    return { ...exit, ms: Date.now() - started }
  }
}
