import postgres, { type Sql } from 'postgres'
import type { FastifyBaseLogger } from 'fastify'

export type { Sql }

export interface ClientOptions {
  /** Pool size: one connection per concurrent flush, plus one for migrations and health checks. */
  max: number
  log: FastifyBaseLogger
}

export function connect (url: string, { max, log }: ClientOptions): Sql {
  return postgres(url, {
    max,
    // An optional field the client left out becomes NULL, never a bind error.
    transform: { undefined: null },
    connect_timeout: 10,
    // postgres.js waits up to 20 s between reconnection attempts once the database has failed a
    // few times; a durable request would hang that long for its 503. Cap the wait at 1 s: a
    // handful of connections retrying once a second does not overload a recovering server.
    backoff: retries => (0.5 + Math.random() / 2) * Math.min(2 ** retries / 100, 1),
    // Connections are kept: reconnecting under load costs more than an idle socket.
    idle_timeout: 0,
    connection: { application_name: 'metrics-ingest' },
    onnotice: notice => { log.debug({ notice: notice.message }, 'postgres notice') }
  })
}

/** Where a connection string points, without its password: fit for a log line. */
export function describeUrl (url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.username ? parsed.username + '@' : ''}${parsed.host}${parsed.pathname}`
  } catch {
    return '(unparseable DATABASE_URL)'
  }
}
