/**
 * The processes under load: the real service (dist/server.js, what `npm start` and the Docker
 * image run) and the ceiling server, each a child process so both are measured the same way.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { ConfigSchema } from '../../src/config.js'

/** The compiled entry point: the same file `npm start` and the Docker image run. */
export const ENTRY = fileURLToPath(new URL('../../dist/server.js', import.meta.url))
const CEILING_ENTRY = fileURLToPath(new URL('./ceiling-server.ts', import.meta.url))
const SRC = fileURLToPath(new URL('../../src/', import.meta.url))

export interface RunningServer {
  url: string
  pid: number
  child: ChildProcess
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

const running = new Set<ChildProcess>()
// A runner that dies (an exception, Ctrl-C) must not leave a service holding a port and a pool.
process.once('exit', () => { for (const child of running) child.kill('SIGKILL') })

/** Throws when dist/ is missing; warns when src/ changed after the last build. */
export async function checkBuild (): Promise<void> {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npm run build\` first (\`npm run bench\` does)`)
  const built = statSync(ENTRY).mtimeMs
  const files = await readdir(SRC, { recursive: true })
  const newer = files.filter(file => file.endsWith('.ts') && statSync(SRC + file).mtimeMs > built)
  if (newer.length > 0) console.warn(`warning: src/ changed since dist/ was built (${newer.slice(0, 3).join(', ')}…): \`npm run build\` to measure the current code`)
}

function peakRss (pid: number): number | undefined {
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb === undefined ? undefined : Number(kb) * 1024
  } catch {
    return undefined
  }
}

/** The port a process listens on, asked of the OS: the service logs nothing below warn. */
function listeningPort (pid: number): string | undefined {
  const out = execFileSync('ss', ['-Htlnp'], { encoding: 'utf8' })
  const line = out.split('\n').find(l => l.includes(`pid=${pid},`))
  return line?.match(/127\.0\.0\.1:(\d+)/)?.[1]
}

/**
 * The runner's environment without the service's configuration keys: a FLUSH_MAX_ROWS or ACK_MODE
 * left in the shell must not change a scenario that says "defaults otherwise".
 */
function baseEnv (): Record<string, string | undefined> {
  const env = { ...process.env }
  for (const key of Object.keys(ConfigSchema.properties)) delete env[key]
  return env
}

async function startProcess (name: string, args: string[], env: Record<string, string>, options: StartOptions): Promise<RunningServer> {
  const [command, ...rest] = [...(options.prefix ?? []), process.execPath, ...(options.nodeArgs ?? []), ...args]
  const child = spawn(command!, rest, {
    env: { ...baseEnv(), HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  running.add(child)
  // Read both pipes (a full pipe would block the child's logger) and keep the last lines for errors.
  const recent: string[] = []
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', line => {
      recent.push(line)
      if (recent.length > 30) recent.shift()
      // pino's error (50) and fatal (60) lines are worth seeing while the run goes on.
      if (/"level":(50|60)/.test(line)) console.error(`[${name}] ${line}`)
    })
  }
  let exited: number | null | undefined
  const exit = new Promise<number | null>(resolve => child.once('exit', code => { exited = code; running.delete(child); resolve(code) }))

  let port: string | undefined
  for (let waited = 0; port === undefined; waited += 100) {
    if (exited !== undefined) throw new Error(`${name} exited with ${exited} before listening. Its last lines:\n${recent.join('\n')}`)
    if (waited > 60_000) {
      child.kill('SIGKILL')
      throw new Error(`${name} did not listen within 60 s. Its last lines:\n${recent.join('\n')}`)
    }
    await sleep(100)
    port = listeningPort(child.pid!)
  }
  const pid = child.pid!
  return {
    url: `http://127.0.0.1:${port}`,
    pid,
    child,
    peakRssBytes: () => peakRss(pid),
    stop: async () => {
      if (exited !== undefined) return exited
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
      const code = await exit
      clearTimeout(timer)
      return code
    }
  }
}

/** dist/server.js with `env` on top of the runner's environment (DATABASE_URL, ACK_MODE, …). */
export async function startService (env: Record<string, string>, options: StartOptions = {}): Promise<RunningServer> {
  return await startProcess('service', [ENTRY], env, options)
}

/** bench/lib/ceiling-server.ts: Fastify, the event schema, a no-op handler. */
export async function startCeilingServer (env: Record<string, string> = {}, options: StartOptions = {}): Promise<RunningServer> {
  return await startProcess('ceiling-server', ['--import', 'tsx', CEILING_ENTRY], env, options)
}
