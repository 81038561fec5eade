/**
 * How often a process went to sleep: its threads' voluntary context switches, from /proc. A server
 * that finds a request waiting whenever it finishes one never sleeps; one that runs out of work
 * sleeps in epoll until the next request wakes it, and on this bench's virtual machine a wake-up
 * costs both sides CPU. Per answer, it shows which servers wait for their work: the no-op route in
 * its slow windows (docs/performance.md, the eighth pass), not the durable ones, whose requests
 * wait for a commit while the server goes on reading others.
 */
import { readdirSync, readFileSync } from 'node:fs'

const VOLUNTARY = /\nvoluntary_ctxt_switches:\s+(\d+)/

/** Voluntary context switches of every thread of `pid` so far; 0 once it is gone. */
export function sleepsOf (pid: number): number {
  let threads: string[]
  try {
    threads = readdirSync(`/proc/${pid}/task`)
  } catch {
    return 0
  }
  let sleeps = 0
  for (const thread of threads) {
    try {
      const match = VOLUNTARY.exec(readFileSync(`/proc/${pid}/task/${thread}/status`, 'utf8'))
      if (match !== null) sleeps += Number(match[1])
    } catch {
      // The thread ended while we looked.
    }
  }
  return sleeps
}
