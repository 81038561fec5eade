/**
 * HAProxy with the shipped deploy/haproxy.cfg, in front of service processes on this machine —
 * the fault suite's replicas scenario and the bench's replicas group run it. The configuration is
 * the shipped one but for what only a Docker network has: the replicas come from fixed addresses
 * instead of Docker's DNS (`server-template app … resolvers docker`), and the listeners bind to
 * loopback ports given here instead of :855 and :8404.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { listensOn } from './listening-port.js'
import { spawnTool, type ToolProcess } from './tool-process.js'

export const HAPROXY_CONFIG = fileURLToPath(new URL('../deploy/haproxy.cfg', import.meta.url))

export interface HaproxyOptions {
  /** The replicas, as host:port, named app1, app2, … in that order. */
  servers: readonly string[]
  /** Where clients connect (the shipped :855). */
  port: number
  /** The stats page and Prometheus endpoint (the shipped :8404). */
  statsPort: number
  /** Every line HAProxy logs (one per request, and server state changes). */
  onLine?: (line: string) => void
}

const READY_TIMEOUT_MS = 10_000

/** The shipped configuration with its Docker-only parts replaced; throws if they moved. */
export function localConfig (shipped: string, { servers, port, statsPort }: Pick<HaproxyOptions, 'servers' | 'port' | 'statsPort'>): string {
  const replace = (text: string, pattern: RegExp, replacement: string): string => {
    if (!pattern.test(text)) throw new Error(`deploy/haproxy.cfg no longer has ${String(pattern)}: update harness/haproxy-process.ts`)
    return text.replace(pattern, replacement)
  }
  let config = replace(shipped, /^(\s*)server-template app .*$/m, servers.map((address, i) => `$1server app${i + 1} ${address} check`).join('\n'))
  config = replace(config, /^(\s*)bind :855$/m, `$1bind 127.0.0.1:${port}`)
  config = replace(config, /^(\s*)bind :8404$/m, `$1bind 127.0.0.1:${statsPort}`)
  return config
}

export class HaproxyProcess {
  readonly url: string
  readonly statsUrl: string
  readonly #child: ChildProcess
  readonly #dir: string
  readonly #exited: Promise<void>

  private constructor ({ child, exited }: ToolProcess, dir: string, options: HaproxyOptions) {
    this.#child = child
    this.#dir = dir
    this.url = `http://127.0.0.1:${options.port}`
    this.statsUrl = `http://127.0.0.1:${options.statsPort}`
    this.#exited = exited
  }

  static async start (options: HaproxyOptions): Promise<HaproxyProcess> {
    const dir = await mkdtemp(join(tmpdir(), 'haproxy-'))
    const file = join(dir, 'haproxy.cfg')
    await writeFile(file, localConfig(await readFile(HAPROXY_CONFIG, 'utf8'), options))
    // -db: stay in the foreground, log to stdout (the config's `log stdout`).
    const tool = spawnTool('haproxy', ['-db', '-f', file], 'install HAProxy 2.6 or later (Debian: apt-get install haproxy)')
    const { child } = tool
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8')
      stream?.on('data', (chunk: string) => { for (const line of chunk.split('\n')) if (line !== '') options.onLine?.(line) })
    }
    const haproxy = new HaproxyProcess(tool, dir, options)
    const deadline = performance.now() + READY_TIMEOUT_MS
    // Until HAProxy holds its stats port, an answer there is another process's.
    const answers = async (): Promise<boolean> => listensOn(child.pid ?? -1, options.statsPort) && await fetch(`${haproxy.statsUrl}/metrics`).then(res => res.ok, () => false)
    while (!(await answers())) {
      const failed = tool.startError()
      if (failed !== undefined || child.exitCode !== null || performance.now() > deadline) {
        await haproxy.stop()
        throw failed ?? new Error(`haproxy did not start (exit ${String(child.exitCode)})`)
      }
      await sleep(50)
    }
    return haproxy
  }

  get pid (): number { return this.#child.pid! }

  /** HAProxy's own Prometheus metrics, as text. */
  async metrics (): Promise<string> {
    return await (await fetch(`${this.statsUrl}/metrics`)).text()
  }

  /** How many replicas pass their /readyz checks now. */
  async activeServers (): Promise<number> {
    const match = /^haproxy_backend_active_servers\{proxy="replicas"\} (\d+)$/m.exec(await this.metrics())
    return Number(match?.[1] ?? 0)
  }

  /** Waits until exactly `count` replicas are in the pool; false after `timeoutMs`. */
  async waitForActive (count: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs
    while (performance.now() < deadline) {
      if (await this.activeServers().catch(() => -1) === count) return true
      await sleep(100)
    }
    return false
  }

  async stop (): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGTERM')
      await this.#exited
    }
    await rm(this.#dir, { recursive: true, force: true })
  }
}
