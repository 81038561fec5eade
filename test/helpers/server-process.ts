import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ServiceProcess, type Exit } from '../../harness/service-process.js'

export const SERVER_ENTRY = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

export interface ServerProcess {
  child: ChildProcess
  address: string
  /** Everything the server wrote to stdout, one parsed JSON object per line. */
  lines: Array<Record<string, unknown>>
  exited: Promise<Exit>
  stderr: () => string
}

function parseLogLine (line: string): Record<string, unknown> {
  try {
    return JSON.parse(line) as Record<string, unknown>
  } catch {
    return { raw: line }
  }
}

/**
 * Starts src/server.ts in a child process the way `npm start` does, with this test's loader
 * (process.execArgv), so the child's coverage is counted too. Ready when it logs its address.
 */
export async function startServer (env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
  const lines: Array<Record<string, unknown>> = []
  let stderr = ''
  let address: string | undefined
  const server = new ServiceProcess({
    entry: SERVER_ENTRY,
    env: { HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    onLine: (line, stream) => {
      if (stream === 'stderr') {
        stderr += `${line}\n`
        return
      }
      const record = parseLogLine(line)
      lines.push(record)
      address ??= /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(String(record.msg))?.[1]
    }
  })
  return { child: server.child, address: await server.waitUntil(() => address, timeoutMs), lines, exited: server.exited, stderr: () => stderr }
}

/** Runs src/server.ts to completion, for start-up failures. */
export async function runServer (env: Record<string, string>): Promise<{ code: number | null, stderr: string }> {
  let stderr = ''
  const server = new ServiceProcess({ entry: SERVER_ENTRY, env, onLine: (line, stream) => { if (stream === 'stderr') stderr += `${line}\n` } })
  // 'close', not 'exit': by then every line of stderr has been read.
  const code = await new Promise<number | null>(resolve => { server.child.once('close', resolve) })
  return { code, stderr }
}
