import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const SERVER_ENTRY = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

export interface ServerProcess {
  child: ChildProcess
  address: string
  /** Everything the server wrote to stdout, one parsed JSON object per line. */
  lines: Array<Record<string, unknown>>
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  stderr: () => string
}

/**
 * Starts src/server.ts in a child process the way `npm start` does, with this test's loader
 * (process.execArgv), so the child's coverage is counted too.
 */
export async function startServer (env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...process.execArgv, SERVER_ENTRY], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const lines: Array<Record<string, unknown>> = []
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => {
    child.on('exit', (code, signal) => { resolve({ code, signal }) })
  })
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`server not ready in ${timeoutMs} ms: ${stderr}`)) }, timeoutMs)
    let buffered = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      let newline
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>
          lines.push(parsed)
          const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(String(parsed.msg))
          if (match !== null) { clearTimeout(timer); resolve(match[1]!) }
        } catch {
          lines.push({ raw: line })
        }
      }
    })
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`server exited with ${code}: ${stderr}`)) }, reject)
  })
  return { child, address, lines, exited, stderr: () => stderr }
}

/** Runs src/server.ts to completion, for start-up failures. */
export async function runServer (env: Record<string, string>): Promise<{ code: number | null, stderr: string }> {
  const child = spawn(process.execPath, [...process.execArgv, SERVER_ENTRY], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await new Promise<number | null>(resolve => { child.on('exit', resolve) })
  return { code, stderr }
}
