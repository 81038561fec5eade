import { residentBytes } from '../../../harness/resident-memory.js'

/** Reads VmRSS of a process every `everyMs` and keeps the peak. */
export class RssSampler {
  readonly #pid: number
  readonly #everyMs: number
  #timer: NodeJS.Timeout | undefined
  #peak = 0

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
    const bytes = residentBytes(this.#pid, 'VmRSS')
    if (bytes !== undefined && bytes > this.#peak) this.#peak = bytes
    return bytes
  }

  get peakBytes (): number { return this.#peak }
}
