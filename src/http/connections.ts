/**
 * Connections the service will hold, and for how long: a slow or idle client cannot keep a socket
 * forever, and one host cannot open them all.
 *
 * - REQUEST_TIMEOUT_MS: the whole request — headers and body — must arrive within it, else 408
 *   and close (Node's requestTimeout; Fastify's default, 0, holds a slow body forever).
 * - HEADERS_TIMEOUT_MS: the headers alone, within it (slowloris).
 * - KEEP_ALIVE_TIMEOUT_MS: an idle keep-alive connection is closed after it. Keep it longer than
 *   the idle timeout of any proxy in front, so the proxy closes first and never sends a request on
 *   a connection the service is closing.
 * - MAX_CONNECTIONS: open connections past it are dropped as they arrive.
 * No socket inactivity timeout: a durable request is silent while its batch commits (through a
 * database outage, up to the shutdown deadline), and it always gets its answer.
 *
 * Node checks these deadlines every CHECK_INTERVAL_MS (its default, 30 s, would let a 10 s
 * deadline run to 40 s). Every refusal is answered where a socket can still take an answer and
 * counted in ingest_http_connections_closed_total{reason}.
 */
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { ErrorCode, errorBody, type ErrorCode as Code } from '../errors.js'

const CHECK_INTERVAL_MS = 1_000

export const ConnectionCloseReason = {
  requestTimeout: 'request_timeout',
  headerOverflow: 'header_overflow',
  badRequest: 'bad_request',
  maxConnections: 'max_connections'
} as const
export type ConnectionCloseReason = typeof ConnectionCloseReason[keyof typeof ConnectionCloseReason]

type ConnectionLimits = Pick<Config, 'REQUEST_TIMEOUT_MS' | 'HEADERS_TIMEOUT_MS' | 'KEEP_ALIVE_TIMEOUT_MS'>

/** Fastify's server options for these limits. */
export function connectionOptions (config: ConnectionLimits) {
  return {
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: 0,
    http: { headersTimeout: config.HEADERS_TIMEOUT_MS, connectionsCheckingInterval: CHECK_INTERVAL_MS },
    clientErrorHandler
  }
}

/** What a malformed, oversized or too-slow request is answered before its socket closes. */
function refusal (err: NodeJS.ErrnoException): { status: number, code: Code, reason: ConnectionCloseReason, message: string } {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: ErrorCode.requestTimeout, reason: ConnectionCloseReason.requestTimeout, message: 'the request did not arrive in time; nothing was stored' }
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: ErrorCode.headersTooLarge, reason: ConnectionCloseReason.headerOverflow, message: 'the request headers are too large' }
    default:
      return { status: 400, code: ErrorCode.badRequest, reason: ConnectionCloseReason.badRequest, message: 'malformed HTTP request' }
  }
}

const STATUS_LINE: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }

/** Node's 'clientError', with `this` the Fastify instance: our error body, counted, then close. */
function clientErrorHandler (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection is gone: nothing to answer, nothing refused.
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const { status, code, reason, message } = refusal(err)
  this.metrics.connectionsClosed.inc({ reason })
  if (socket.writable) {
    const body = JSON.stringify(errorBody(status, code, message))
    socket.write(`HTTP/1.1 ${status} ${STATUS_LINE[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

/** The connection cap and the open-connections gauge on the listening server. */
export const connectionsPlugin = fp<{ maxConnections: number }>(async (app, { maxConnections }) => {
  const { server, metrics } = app
  server.maxConnections = maxConnections
  let open = 0
  server.on('connection', (socket: Socket) => {
    open++
    socket.once('close', () => { open-- })
  })
  // Past maxConnections Node closes the new socket at once, before any byte is read.
  server.on('drop', () => { metrics.connectionsClosed.inc({ reason: ConnectionCloseReason.maxConnections }) })
  metrics.sources.httpConnections = () => open
  // Every reason's series from 0, so the first refusal shows as an increase().
  for (const reason of Object.values(ConnectionCloseReason)) metrics.connectionsClosed.inc({ reason }, 0)
}, { name: 'connections', dependencies: ['metrics'] })
