import { Writable } from 'node:stream'
import pino from 'pino'
import type { Test } from 'tap'
import { buildApp, type App } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { connect } from '../../src/database/client.js'
import { poolSize } from '../../src/database/index.js'
import type { Clock } from '../../src/ingest/ring-buffer.js'

export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

export interface TestApp {
  app: App
  config: Config
  /** Every line the app logged, parsed. */
  logs: LogLine[]
}

/** The real app on the test's database, with its log captured; closed at teardown. */
export async function buildTestApp (t: Test, url: string, env: Record<string, string> = {}, clock?: Clock): Promise<TestApp> {
  const config = loadConfig({ LOG_LEVEL: 'info', ...env, DATABASE_URL: url })
  const logs: LogLine[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as LogLine)
      callback()
    }
  })
  const logger = pino({ level: config.LOG_LEVEL }, stream)
  const sql = connect(url, { max: poolSize(config), log: logger })
  const app = await buildApp(config, { sql, logger, ...(clock !== undefined ? { clock } : {}) })
  t.teardown(() => app.close())
  return { app, config, logs }
}

/** The origin README's example request, with overrides. */
export function event (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    user_id: 1,
    name: 'John Doe',
    email: 'john.doe@example.com',
    session_id: 1,
    talked_time: 120,
    microphone_used: true,
    speaker_used: true,
    voice_sentiment: 'positive',
    timestamp: 1622558400,
    ...overrides
  }
}
