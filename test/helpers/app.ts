import { Writable } from 'node:stream'
import pino from 'pino'
import type { Test } from 'tap'
import { buildApp, type App } from '../../src/app.js'
import { loadConfig, Role, type Config } from '../../src/config.js'
import { connect } from '../../src/database/client.js'
import { poolSize } from '../../src/database/index.js'
import type { Clock } from '../../src/clock.js'

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
  // The ingest role of stream mode has no pool, as in production.
  const sql = config.ROLE === Role.ingest ? undefined : connect(url, { max: poolSize(config), log: logger })
  const app = await buildApp(config, { ...(sql !== undefined ? { sql } : {}), logger, ...(clock !== undefined ? { clock } : {}) })
  t.teardown(() => app.close())
  return { app, config, logs }
}

// The origin README's example request, with overrides. harness/events.ts holds every event
// factory of the tests, the bench and the fault suite; the tests know this one as event().
export { exampleEvent as event } from '../../harness/events.js'
