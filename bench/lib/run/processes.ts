/**
 * The processes under load: the real service (dist/server.js, what `npm start` and the Docker
 * image run), the ceiling, floor and hold servers, each a child process
 * (harness/service-process.ts) so all are measured the same way.
 */
import { existsSync, statSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { residentBytes } from '../../../harness/resident-memory.js'
import { ServiceProcess } from '../../../harness/service-process.js'
import { onFreePort } from '../../../harness/free-port.js'

/** The compiled entry point: the same file `npm start` and the Docker image run. */
export const ENTRY = fileURLToPath(new URL('../../../dist/server.js', import.meta.url))
const CEILING_ENTRY = fileURLToPath(new URL('./ceiling-server.ts', import.meta.url))
const FLOOR_ENTRY = fileURLToPath(new URL('./floor-server.ts', import.meta.url))
const HOLD_ENTRY = fileURLToPath(new URL('./hold-server.ts', import.meta.url))
const SRC = fileURLToPath(new URL('../../../src/', import.meta.url))
const START_TIMEOUT_MS = 60_000
// A drain of a full buffer at the end of a batch scenario takes seconds; a minute means it hangs.
const STOP_TIMEOUT_MS = 60_000

export interface RunningServer {
  url: string
  pid: number
  /** VmHWM: the most resident memory the process has had since it started, in bytes. */
  peakRssBytes: () => number | undefined
  /** SIGTERM, then the exit code (the service drains its buffer first). */
  stop: () => Promise<number | null>
}

export interface StartOptions {
  /** Prepended to the command, e.g. `taskset -c 0`. */
  prefix?: readonly string[]
  /** Flags for node itself, e.g. --cpu-prof (which Node 20 refuses in NODE_OPTIONS). */
  nodeArgs?: readonly string[]
}

/** Throws when dist/ is missing; warns when src/ changed after the last build. */
export async function checkBuild (): Promise<void> {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npm run build\` first (\`npm run bench\` does)`)
  const built = statSync(ENTRY).mtimeMs
  const files = await readdir(SRC, { recursive: true })
  const newer = files.filter(file => file.endsWith('.ts') && statSync(SRC + file).mtimeMs > built)
  if (newer.length > 0) console.warn(`warning: src/ changed since dist/ was built (${newer.slice(0, 3).join(', ')}…): \`npm run build\` to measure the current code`)
}

/**
 * Any server entry point (a .js file, or .ts through this process's loader) with `env` on top of
 * the port and log level; on another free port if someone took the first before it bound it.
 */
export async function startProcess (entry: string, env: Record<string, string>, options: StartOptions): Promise<RunningServer> {
  return await onFreePort(async port => await startOn(port, entry, env, options))
}

async function startOn (port: number, entry: string, env: Record<string, string>, options: StartOptions): Promise<RunningServer> {
  const url = `http://127.0.0.1:${port}`
  const server = new ServiceProcess({
    entry,
    env: { HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    ...options,
    // pino's error (50) and fatal (60) lines are worth seeing while the run goes on.
    onLine: line => { if (/"level":(50|60)/.test(line)) console.error(`[${entry}] ${line}`) }
  })
  // Any HTTP answer means it serves: the ceiling server has no /healthz, and its 404 is an answer.
  await server.waitUntilServing(port, async () => await fetch(url).then(() => true, () => false), START_TIMEOUT_MS)
  return {
    url,
    pid: server.pid,
    peakRssBytes: () => residentBytes(server.pid, 'VmHWM'),
    stop: async () => (await server.stop('SIGTERM', STOP_TIMEOUT_MS)).code
  }
}

/** dist/server.js with `env` on top of its defaults (DATABASE_URL, ACK_MODE, …). */
export async function startService (env: Record<string, string>, options: StartOptions): Promise<RunningServer> {
  return await startProcess(ENTRY, env, options)
}

/** ceiling-server.ts (Fastify, the event schema, a no-op handler), through this process's tsx loader. */
export async function startCeilingServer (options: StartOptions): Promise<RunningServer> {
  return await startProcess(CEILING_ENTRY, {}, options)
}

/** floor-server.ts (the least durable writer on this schema) on `databaseUrl`, through this process's tsx loader. */
export async function startFloorServer (databaseUrl: string, options: StartOptions): Promise<RunningServer> {
  return await startProcess(FLOOR_ENTRY, { DATABASE_URL: databaseUrl }, options)
}

/** hold-server.ts (the no-op route, each answer held `holdMs` in back-to-back batches), through this process's tsx loader. */
export async function startHoldServer (holdMs: number, options: StartOptions): Promise<RunningServer> {
  return await startProcess(HOLD_ENTRY, { HOLD_MS: String(holdMs) }, options)
}
