import pino, { type Logger } from 'pino'
import type { Config } from './config.js'

/** JSON lines for machines; pretty only when a person is watching the terminal. */
export function createLogger (config: Pick<Config, 'LOG_LEVEL'>): Logger {
  return pino({
    level: config.LOG_LEVEL,
    // Keys never reach a log line, even if a request object is logged whole.
    redact: ['req.headers.authorization'],
    ...(process.stdout.isTTY ? { transport: { target: 'pino-pretty' } } : {})
  })
}
