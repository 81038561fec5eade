/**
 * --pin: which process runs on which core, with taskset (util-linux). With 2 cores there is no
 * good split — PostgreSQL starves beside the service, or the load generator does — so it is off by
 * default and the report always says how the processes ran.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'

export interface Pinning {
  enabled: boolean
  /** Prefix for spawning the service (and the ceiling server): `taskset -c <cores>`, or nothing. */
  serverCommand: string[]
  serverCores?: string
  loadCores?: string
  /** In words, for the report. */
  description: string
}

function hasTaskset (): boolean {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

const UNPINNED = 'not pinned: the OS scheduled the service, PostgreSQL and the load generator (this process, autocannon in-process) on all cores'

/**
 * Pins this process — the runner, which also runs autocannon and the COPY/commit baselines — to
 * the last core; the server side (service, ceiling server, embedded PostgreSQL) goes on the others.
 */
export function choosePinning (requested: boolean): Pinning {
  const cores = availableParallelism()
  if (!requested) return { enabled: false, serverCommand: [], description: UNPINNED }
  if (cores < 2) throw new Error('--pin needs at least 2 cores')
  if (!hasTaskset()) throw new Error('--pin needs taskset (util-linux), which is not on the PATH')
  const last = cores - 1
  const serverCores = last === 1 ? '0' : `0-${last - 1}`
  const loadCores = String(last)
  // -a: every thread of this process (libuv's pool, V8's GC helpers), not only the main one.
  execFileSync('taskset', ['-a', '-p', '-c', loadCores, String(process.pid)], { stdio: 'ignore' })
  return {
    enabled: true,
    serverCommand: ['taskset', '-c', serverCores],
    serverCores,
    loadCores,
    description: `taskset: service and PostgreSQL on core ${serverCores}, load generator (autocannon in-process, COPY and commit baselines) on core ${loadCores}`
  }
}

/** A process and its descendants: PostgreSQL forks a backend per connection and its helpers. */
export function processTree (root: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // The 4th field after "(comm)" is the parent pid; comm may contain spaces, so split after ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
    } catch {
      // The process ended while we looked.
    }
  }
  const tree: number[] = []
  const visit = (pid: number): void => {
    tree.push(pid)
    for (const child of children.get(pid) ?? []) visit(child)
  }
  visit(root)
  return tree
}

/** Moves a running process tree onto `cores`; processes it forks later inherit them. */
export function pinTree (root: number, cores: string): void {
  for (const pid of processTree(root)) {
    try {
      execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' })
    } catch {
      // Ended in between: nothing to pin.
    }
  }
}
