/** Shutdown's deadline for the buffer: drain what it holds, but not past the deadline. */
import type { Clock } from '../clock.js'

export interface Closable {
  close: () => Promise<void>
}

/** Closes the buffer and waits for it to drain, or until `deadline` (clock time) passes. */
export async function closeBy (buffer: Closable, deadline: number, clock: Clock): Promise<'drained' | 'deadline'> {
  let timer: unknown
  const expired = new Promise<'deadline'>(resolve => {
    timer = clock.setTimeout(() => { resolve('deadline') }, Math.max(0, deadline - clock.now()))
  })
  const ended = await Promise.race([buffer.close().then(() => 'drained' as const), expired])
  clock.clearTimeout(timer)
  return ended
}
