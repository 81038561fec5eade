import type { FastifySchemaValidationError } from 'fastify'
import type { ErrorBody } from './ingest/schema.js'
import type { FieldProblem } from './ingest/schema.js'

/** Our stable error codes; clients switch on these, never on messages. */
export const ErrorCode = {
  validation: 'INGEST_VALIDATION',
  bufferFull: 'INGEST_BUFFER_FULL',
  shuttingDown: 'INGEST_SHUTTING_DOWN',
  databaseUnavailable: 'INGEST_DATABASE_UNAVAILABLE',
  sessionConflict: 'INGEST_SESSION_CONFLICT',
  internal: 'INGEST_INTERNAL'
} as const

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable'
}

export function errorBody (statusCode: number, code: string, message: string, details?: FieldProblem[]): ErrorBody {
  const body: ErrorBody = { status: 'error', statusCode, code, error: STATUS_TEXT[statusCode] ?? 'Error', message }
  if (details !== undefined) body.details = details
  return body
}

/** A client error we raise ourselves, with the field-level details of the body. */
export class IngestError extends Error {
  constructor (readonly statusCode: number, readonly code: string, message: string, readonly details?: FieldProblem[]) {
    super(message)
    this.name = 'IngestError'
  }
}

export function invalidEvent (problems: FieldProblem[]): IngestError {
  return new IngestError(400, ErrorCode.validation, `invalid event: ${summarize(problems)}`, problems)
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

function summarize (problems: readonly FieldProblem[]): string {
  return problems.map(p => `${p.path} ${p.message}`).join('; ')
}
