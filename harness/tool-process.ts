/**
 * A program this machine must have (nats-server, haproxy), started as a child process. A command
 * Node cannot run — not installed, not executable — comes back as an 'error' event and no 'exit':
 * unheard, that event ends the whole run with a stack trace, and a wait for the exit never ends.
 * Here it ends `exited` and becomes an error that says what to install.
 */
import { spawn, type ChildProcess } from 'node:child_process'

export interface ToolProcess {
  child: ChildProcess
  /** Resolves when the process has exited, or could not be started at all. */
  exited: Promise<void>
  /** Why the program could not be started, with what to install; undefined once it has. */
  startError: () => Error | undefined
}

/** Starts `command`; `install` says how to get it (e.g. `apt-get install nats-server`). */
export function spawnTool (command: string, args: readonly string[], install: string): ToolProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let failed: Error | undefined
  const exited = new Promise<void>(resolve => {
    child.once('exit', () => { resolve() })
    child.once('error', err => {
      // Only a start failure: a running child's 'error' (a failed kill) leaves 'exit' to come.
      if (child.pid !== undefined) return
      failed = new Error(`${command} could not be started (${err.message}): ${install}`)
      resolve()
    })
  })
  return { child, exited, startError: () => failed }
}
