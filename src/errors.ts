import type { FastifySchemaValidationError } from 'fastify'
import type { ErrorBody, FieldProblem } from './http/responses.js'

/** Our stable error codes, every one of them; clients switch on these, never on messages. */
export const ErrorCode = {
  badRequest: 'INGEST_BAD_REQUEST',
  invalidJson: 'INGEST_INVALID_JSON',
  invalidUtf8: 'INGEST_INVALID_UTF8',
  validation: 'INGEST_VALIDATION',
  unauthorized: 'INGEST_UNAUTHORIZED',
  notFound: 'INGEST_NOT_FOUND',
  rateLimited: 'INGEST_RATE_LIMITED',
  batchTooLarge: 'INGEST_BATCH_TOO_LARGE',
  requestTimeout: 'INGEST_REQUEST_TIMEOUT',
  headersTooLarge: 'INGEST_HEADERS_TOO_LARGE',
  beyondRetention: 'INGEST_BEYOND_RETENTION',
  bufferFull: 'INGEST_BUFFER_FULL',
  shuttingDown: 'INGEST_SHUTTING_DOWN',
  databaseUnavailable: 'INGEST_DATABASE_UNAVAILABLE',
  streamFull: 'INGEST_STREAM_FULL',
  streamUnavailable: 'INGEST_STREAM_UNAVAILABLE',
  sessionConflict: 'INGEST_SESSION_CONFLICT',
  rejectedByDatabase: 'INGEST_REJECTED_BY_DATABASE',
  internal: 'INGEST_INTERNAL'
} as const
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode]
/** A code of Fastify's or one of its plugins' (FST_ERR_CTP_BODY_TOO_LARGE, …), passed through as it is. */
export type ForeignCode = `FST_${string}`

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable'
}

export function errorBody (statusCode: number, code: ErrorCode | ForeignCode, message: string, details?: FieldProblem[], omittedDetails?: number): ErrorBody {
  const body: ErrorBody = { status: 'error', statusCode, code, error: STATUS_TEXT[statusCode] ?? 'Error', message }
  if (details !== undefined) body.details = details
  if (omittedDetails !== undefined) body.omittedDetails = omittedDetails
  return body
}

/** A client error we raise ourselves, with the field-level details of the body. */
export class IngestError extends Error {
  /** Problems beyond those listed in details. */
  omittedDetails?: number
  constructor (readonly statusCode: number, readonly code: ErrorCode, message: string, readonly details?: FieldProblem[]) {
    super(message)
    this.name = 'IngestError'
  }
}

export function invalidEvent (problems: FieldProblem[]): IngestError {
  return new IngestError(400, ErrorCode.validation, `invalid event: ${describeProblems(problems)}`, problems)
}

const NUL_PATTERN = '^[^\\u0000]*$'

/** One problem per field, worded for the client, from Ajv's errors. */
export function fieldProblems (errors: readonly FastifySchemaValidationError[]): FieldProblem[] {
  const problems: FieldProblem[] = []
  const seen = new Set<string>()
  for (const error of errors) {
    const params = error.params as Record<string, unknown>
    let path = error.instancePath
    let message = error.message ?? 'is invalid'
    switch (error.keyword) {
      case 'required':
        path += `/${String(params.missingProperty)}`
        message = 'is required'
        break
      case 'additionalProperties':
        path += `/${String(params.additionalProperty)}`
        message = 'is not a known field'
        break
      case 'enum':
        message = `must be one of: ${(params.allowedValues as unknown[]).join(', ')}`
        break
      case 'format':
        message = `must be a valid ${String(params.format)}`
        break
      case 'pattern':
        if (params.pattern === NUL_PATTERN) message = 'must not contain the NUL character (\\u0000)'
        break
    }
    if (path === '') path = '/'
    const key = `${path}\n${message}`
    if (seen.has(key)) continue
    seen.add(key)
    problems.push({ path, message })
  }
  return problems
}

/** The most item problems one answer lists; the rest are counted. */
export const MAX_BATCH_DETAILS = 100

/** Splits `/17/email` into item 17, field `/email`; problems of the body itself keep no index. */
export function batchProblems (problems: readonly FieldProblem[]): FieldProblem[] {
  return problems.map(problem => {
    const match = /^\/(\d+)(\/.*)?$/.exec(problem.path)
    if (match === null) return problem
    return { index: Number(match[1]), path: match[2] ?? '/', message: problem.message }
  })
}

/**
 * 422: events older than RETENTION_DAYS. Valid, but their partition is (or is about to be)
 * dropped: refused at the door rather than stored and then deleted. A batch is refused whole.
 */
export function beyondRetention (problems: FieldProblem[], retentionDays: number): IngestError {
  return withDetails(problems, shown => new IngestError(422, ErrorCode.beyondRetention,
    `${problems.length} event(s) older than the retention window of ${retentionDays} days, nothing was stored: drop them, they would not be kept`, shown))
}

export function invalidBatch (problems: FieldProblem[]): IngestError {
  const items = new Set(problems.map(p => p.index)).size
  return withDetails(problems, shown => new IngestError(400, ErrorCode.validation,
    `invalid batch: ${problems.length} problem(s) in ${items} item(s), nothing was stored; first: ${describeProblems(shown.slice(0, 3))}`, shown))
}

/** A batch error with its first MAX_BATCH_DETAILS problems as details, and the count of the rest. */
function withDetails (problems: readonly FieldProblem[], build: (shown: FieldProblem[]) => IngestError): IngestError {
  const shown = problems.slice(0, MAX_BATCH_DETAILS)
  const error = build(shown)
  if (problems.length > shown.length) error.omittedDetails = problems.length - shown.length
  return error
}

/** Problems as one line of a message: `[3]/email must be a valid email; …`. */
function describeProblems (problems: readonly FieldProblem[]): string {
  return problems.map(p => `${p.index === undefined ? '' : `[${p.index}]`}${p.path} ${p.message}`).join('; ')
}
