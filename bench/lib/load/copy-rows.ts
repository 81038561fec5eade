/**
 * Events as COPY text (tab-separated, `\N` for NULL) for the three tables, the way the fastest
 * possible writer would send them: users and sessions only the first time they are seen, so no
 * row needs an upsert — that is what makes it a ceiling rather than a second implementation.
 */
import { randomUUID } from 'node:crypto'
import type { EventSource, TrafficEvent } from '../../../harness/events.js'

export interface CopyChunk {
  users: string
  sessions: string
  metrics: string
  rows: number
}

export const COPY_COLUMNS = {
  users: 'users (user_id, name, email, profile_at)',
  sessions: 'sessions (session_id, user_id, device_id, platform)',
  metrics: 'user_metrics (event_id, session_id, talked_time, microphone_used, speaker_used, voice_sentiment, "timestamp")'
} as const

/** COPY text format escapes: backslash, tab, newline, carriage return. */
function text (value: string | undefined): string {
  if (value === undefined) return '\\N'
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, c => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!) : value
}

// The traffic's timestamps fall within an hour: a few thousand distinct values, each formatted once.
const isoCache = new Map<number, string>()
function iso (unixSeconds: number): string {
  let text = isoCache.get(unixSeconds)
  if (text === undefined) {
    text = new Date(unixSeconds * 1000).toISOString()
    if (isoCache.size < 100_000) isoCache.set(unixSeconds, text)
  }
  return text
}

/** Remembers which users and sessions earlier chunks already wrote. */
export class CopyEncoder {
  #users = new Set<number>()
  #sessions = new Set<number>()

  encode (events: readonly TrafficEvent[]): CopyChunk {
    const users: string[] = []
    const sessions: string[] = []
    const metrics: string[] = []
    for (const e of events) {
      if (!this.#users.has(e.user_id)) {
        this.#users.add(e.user_id)
        users.push(`${e.user_id}\t${text(e.name)}\t${text(e.email)}\t${iso(e.timestamp)}\n`)
      }
      if (!this.#sessions.has(e.session_id)) {
        this.#sessions.add(e.session_id)
        sessions.push(`${e.session_id}\t${e.user_id}\t${text(e.device_id)}\t${text(e.platform)}\n`)
      }
      metrics.push(`${randomUUID()}\t${e.session_id}\t${e.talked_time} seconds\t${e.microphone_used ? 't' : 'f'}\t${e.speaker_used ? 't' : 'f'}\t${e.voice_sentiment}\t${iso(e.timestamp)}\n`)
    }
    return { users: users.join(''), sessions: sessions.join(''), metrics: metrics.join(''), rows: events.length }
  }
}

/**
 * The chunks one COPY connection sends, encoded before the run so the runner's CPU (it shares the
 * machine with PostgreSQL) is not part of the ceiling. Replayed from the first after a truncate:
 * the same users and sessions are new again, the same event ids unused again.
 */
export class ChunkSequence {
  readonly #chunks: CopyChunk[] = []
  readonly #source: EventSource
  readonly #encoder = new CopyEncoder()
  readonly #rows: number
  #index = 0
  #builtDuringRun = 0

  constructor (source: EventSource, rowsPerChunk: number, prebuild: number) {
    this.#source = source
    this.#rows = rowsPerChunk
    for (let i = 0; i < prebuild; i++) this.#build()
  }

  #build (): CopyChunk {
    const chunk = this.#encoder.encode(Array.from({ length: this.#rows }, () => this.#source.next()))
    this.#chunks.push(chunk)
    return chunk
  }

  next (): CopyChunk {
    const chunk = this.#chunks[this.#index] ?? (this.#builtDuringRun++, this.#build())
    this.#index++
    return chunk
  }

  rewind (): void {
    this.#index = 0
    this.#builtDuringRun = 0
  }

  /** Chunks encoded during the run because the pre-built ones ran out. */
  get builtDuringRun (): number {
    return this.#builtDuringRun
  }
}
