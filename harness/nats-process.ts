/**
 * Real nats-server processes with JetStream on loopback — one node, or a three-node cluster
 * with Raft — for the stream-mode tests, the fault suite and the bench. Each node keeps its
 * store directory across a kill and restart, as a node of a real cluster would.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { freePort } from './free-port.js'
import { listensOn } from './listening-port.js'
import { spawnTool } from './tool-process.js'

const READY_TIMEOUT_MS = 20_000

// Servers still running when this process exits (a test that threw, a runner's timeout) go with it.
const running = new Set<ChildProcess>()
process.once('exit', () => { for (const child of running) child.kill('SIGKILL') })

interface Node {
  name: string
  port: number
  monitorPort: number
  clusterPort: number
  storeDir: string
  child: ChildProcess | undefined
  exited: Promise<void>
  /** Why the last start failed before the program ran (not installed), if it did. */
  startError: () => Error | undefined
}

export class NatsCluster {
  readonly #nodes: Node[]
  readonly #dir: string
  readonly #routes: string | undefined
  readonly #configFile: string
  #output = ''

  private constructor (nodes: Node[], dir: string) {
    this.#nodes = nodes
    this.#dir = dir
    this.#configFile = join(dir, 'nats.conf')
    this.#routes = nodes.length > 1 ? nodes.map(n => `nats://127.0.0.1:${n.clusterPort}`).join(',') : undefined
  }

  /**
   * `nodes` servers (1, or 3 for a cluster), started and answering /healthz with JetStream on.
   * `maxPayload`: the largest message the servers take (nats-server's size syntax).
   */
  static async start (options: { nodes?: number, maxPayload?: string } = {}): Promise<NatsCluster> {
    // A port found free may be taken before the server binds it (another test file starts
    // servers too): a server that exits at start-up gets the whole cluster started once more.
    try {
      return await NatsCluster.#startOnce(options)
    } catch {
      return await NatsCluster.#startOnce(options)
    }
  }

  static async #startOnce ({ nodes = 1, maxPayload = '8MB' }: { nodes?: number, maxPayload?: string }): Promise<NatsCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'nats-'))
    // Three ports a node, all different: freePort() closes what it probed, so it can repeat one.
    const ports = new Set<number>()
    while (ports.size < nodes * 3) ports.add(await freePort())
    const [...free] = ports
    const list: Node[] = []
    for (let i = 1; i <= nodes; i++) {
      const [port, monitorPort, clusterPort] = free.slice((i - 1) * 3, i * 3) as [number, number, number]
      list.push({ name: `n${i}`, port, monitorPort, clusterPort, storeDir: join(dir, `n${i}`), child: undefined, exited: Promise.resolve(), startError: () => undefined })
    }
    const cluster = new NatsCluster(list, dir)
    await writeFile(cluster.#configFile, `max_payload: ${maxPayload}\n`)
    try {
      for (const node of list) cluster.#spawn(node)
      await Promise.all(list.map(async node => { await cluster.#waitHealthy(node) }))
    } catch (err) {
      await cluster.close()
      throw err
    }
    return cluster
  }

  /** Every server, as NATS_URL takes them. */
  get url (): string {
    return this.#nodes.map(n => `nats://127.0.0.1:${n.port}`).join(',')
  }

  get size (): number { return this.#nodes.length }

  /** The running servers' process ids, by node name (for CPU accounting). */
  get pids (): Record<string, number> {
    const pids: Record<string, number> = {}
    for (const node of this.#nodes) if (node.child?.pid !== undefined) pids[`nats-server ${node.name}`] = node.child.pid
    return pids
  }

  /** What the servers printed, for a failing test's message. */
  get output (): string { return this.#output.slice(-4_000) }

  /** Messages the stream `name` holds now: acknowledged to clients and not yet acked by a writer. */
  async streamMessages (name: string): Promise<number> {
    const nc = await connect({ servers: this.url.split(','), timeout: 5_000 })
    try {
      return (await (await jetstreamManager(nc)).streams.info(name)).state.messages
    } finally {
      await nc.close()
    }
  }

  /** The index of the node leading the stream `name` (its Raft group's leader). */
  async streamLeader (name: string): Promise<number> {
    const nc = await connect({ servers: this.url.split(','), timeout: 5_000 })
    try {
      const leader = (await (await jetstreamManager(nc)).streams.info(name)).cluster?.leader
      const index = this.#nodes.findIndex(node => node.name === leader)
      if (index < 0) throw new Error(`stream ${name} has no leader among ${this.#nodes.map(n => n.name).join(', ')} (${String(leader)})`)
      return index
    } finally {
      await nc.close()
    }
  }

  /** Waits until the stream `name` is empty (every message written and acked); false at the timeout. */
  async waitDrained (name: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (await this.streamMessages(name).catch(() => -1) === 0) return true
      await sleep(200)
    }
    return false
  }

  /** SIGKILLs node `index` (0-based): no goodbye to its peers or clients. */
  async kill (index: number): Promise<void> {
    const node = this.#nodes[index]!
    node.child?.kill('SIGKILL')
    await node.exited
    node.child = undefined
  }

  /** Starts node `index` again on its ports and store, and waits until it is healthy. */
  async restart (index: number): Promise<void> {
    const node = this.#nodes[index]!
    if (node.child !== undefined) await this.kill(index)
    this.#spawn(node)
    await this.#waitHealthy(node)
  }

  async close (): Promise<void> {
    for (let i = 0; i < this.#nodes.length; i++) await this.kill(i)
    await rm(this.#dir, { recursive: true, force: true })
  }

  #spawn (node: Node): void {
    // max_payload has no command-line flag: the config file holds it (8 MB as in
    // docker-compose.yaml by default, so a request at BODY_LIMIT_BYTES' default fits one message).
    const args = ['-c', this.#configFile, '-a', '127.0.0.1', '-p', String(node.port), '-m', String(node.monitorPort), '-n', node.name, '-js', '-sd', node.storeDir]
    if (this.#routes !== undefined) {
      args.push('--cluster_name', 'ingest', '--cluster', `nats://127.0.0.1:${node.clusterPort}`, '--routes', this.#routes)
    }
    const { child, exited, startError } = spawnTool('nats-server', args, 'install nats-server 2.9 or later (Debian: apt-get install nats-server)')
    const keep = (chunk: Buffer): void => { this.#output = (this.#output + chunk.toString()).slice(-20_000) }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    node.child = child
    running.add(child)
    node.startError = startError
    node.exited = exited.then(() => { running.delete(child) })
  }

  async #waitHealthy (node: Node): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS
    let last = ''
    while (Date.now() < deadline) {
      const failed = node.startError()
      if (failed !== undefined) throw failed
      if (node.child?.exitCode !== null) throw new Error(`nats-server ${node.name} exited: ${this.output}`)
      // Until this node holds its monitor port, an answer there is another process's.
      if (!listensOn(node.child?.pid ?? -1, node.monitorPort)) {
        await sleep(100)
        continue
      }
      try {
        const response = await fetch(`http://127.0.0.1:${node.monitorPort}/healthz`)
        last = await response.text()
        if (response.ok) return
      } catch (err) {
        last = (err as Error).message
      }
      await sleep(100)
    }
    throw new Error(`nats-server ${node.name} not healthy within ${READY_TIMEOUT_MS} ms (${last}): ${this.output}`)
  }
}
