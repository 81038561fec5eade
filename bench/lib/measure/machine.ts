/** What the figures were measured on, for the report: a number without its machine means nothing. */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os'

export interface Machine {
  cpu: string
  cores: number
  memoryGiB: number
  os: string
  node: string
  /** 1-minute load average when the run started: above 0 means something else was running. */
  loadAverageAtStart: number
}

export interface Revision {
  sha: string
  /** Files changed since that commit: the figures are of the working tree, not of the commit. */
  dirty: boolean
}

function osName (): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]
    return `${pretty ?? 'Linux'} (kernel ${release()})`
  } catch {
    return `${process.platform} ${release()}`
  }
}

export function describeMachine (): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10,
    os: osName(),
    node: process.version,
    loadAverageAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100
  }
}

export function revision (): Revision {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== ''
    return { sha, dirty }
  } catch {
    return { sha: 'unknown (not a git checkout)', dirty: false }
  }
}
