import { readFileSync } from 'node:fs'

/**
 * A process's resident memory in bytes, from /proc/<pid>/status: VmRSS is what it holds now,
 * VmHWM the most it has held since it started. undefined once the process is gone.
 */
export function residentBytes (pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  let status: string
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return undefined
  }
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]
  return kb === undefined ? undefined : Number(kb) * 1024
}
