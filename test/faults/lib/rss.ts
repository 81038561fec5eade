import { readFileSync } from 'node:fs'

/** Reads VmRSS of a process from /proc every `everyMs`; keeps the peak and every sample. */
export class RssSampler {
  readonly #pid: number
  readonly #everyMs: number
  #timer: NodeJS.Timeout | undefined
  #peak = 0
  readonly samples: Array<{ at: number, bytes: number }> = []

  constructor (pid: number, everyMs = 100) {
    this.#pid = pid
    this.#everyMs = everyMs
  }

  start (): void {
    this.sample()
    this.#timer = setInterval(() => { this.sample() }, this.#everyMs)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Bytes resident now; undefined once the process is gone. */
  sample (): number | undefined {
    let status: string
    try {
      status = readFileSync(`/proc/${this.#pid}/status`, 'utf8')
    } catch {
      return undefined
    }
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]
    if (kb === undefined) return undefined
    const bytes = Number(kb) * 1024
    this.samples.push({ at: performance.now(), bytes })
    if (bytes > this.#peak) this.#peak = bytes
    return bytes
  }

  get peakBytes (): number { return this.#peak }
}
