/**
 * What a failed database call means for the events in it. postgres.js puts the SQLSTATE in
 * `err.code` for server errors, and its own codes (CONNECTION_CLOSED, …) or Node's
 * (ECONNREFUSED, …) for the connection.
 */
export const Failure = {
  /** Another transaction held the rows: try again at once. */
  contention: 'contention',
  /** The database cannot be reached or is not accepting work: try again later. */
  unavailable: 'unavailable',
  /** The database refused a row of the data (a data exception, a constraint, a trigger's RAISE): isolate it. */
  poison: 'poison',
  /** The database refused the statement itself: retrying will not help. */
  rejected: 'rejected'
} as const
export type Failure = typeof Failure[keyof typeof Failure]

const CLIENT_CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'
])

function codeOf (err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * PostgreSQL found no partition of user_metrics for a row: 23514 like a CHECK, but no constraint
 * named. Not the row's fault — the writer makes the partition and writes again.
 */
export function isMissingPartition (err: unknown): boolean {
  const message = (err as { message?: unknown } | null)?.message
  return codeOf(err) === '23514' && typeof message === 'string' && message.startsWith('no partition of relation')
}

export function classifyFailure (err: unknown): Failure {
  const code = codeOf(err)
  if (code === undefined) return Failure.rejected
  // Still no partition after the writer made one (it could not): never a poison row; try later.
  if (isMissingPartition(err)) return Failure.unavailable
  if (code === '40001' || code === '40P01') return Failure.contention
  if (CLIENT_CONNECTION_CODES.has(code)) return Failure.unavailable
  // 08: connection exception; 53: insufficient resources; 57P01-57P03: shutdown / cannot connect now.
  if (/^(08|53)/.test(code) || /^57P0[1-3]$/.test(code)) return Failure.unavailable
  // 22: data exception; 23: integrity constraint violation; P0: PL/pgSQL RAISE (a trigger's veto).
  if (/^(22|23|P0)/.test(code)) return Failure.poison
  return Failure.rejected
}

/** A low-cardinality label for a failure: the SQLSTATE class, or the client's error code. */
export function failureLabel (err: unknown): string {
  const code = codeOf(err)
  if (code === undefined) return 'unknown'
  return /^[0-9A-Z]{5}$/.test(code) ? code.slice(0, 2) : code.toLowerCase()
}
