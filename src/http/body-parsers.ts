/**
 * Request bodies for the ingest routes: JSON and NDJSON, strict about what they accept.
 * Fastify's own JSON parser decodes invalid UTF-8 into U+FFFD and stores it; ours refuses it.
 */
import type { FastifyInstance } from 'fastify'
import secureJson from 'secure-json-parse'
import { ErrorCode, IngestError } from '../errors.js'

export const NDJSON = 'application/x-ndjson'

const utf8 = new TextDecoder('utf-8', { fatal: true })

function decode (body: Buffer): string {
  try {
    return utf8.decode(body)
  } catch {
    throw new IngestError(400, ErrorCode.invalidUtf8, 'the body is not valid UTF-8')
  }
}

function parseJson (text: string, where: string): unknown {
  try {
    // __proto__ and constructor.prototype keys are refused, not silently dropped.
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' })
  } catch (err) {
    throw new IngestError(400, ErrorCode.invalidJson, `${where} is not valid JSON: ${(err as Error).message}`)
  }
}

/** One event per line; blank lines are ignored; a bad line is named by its number. */
export function parseNdjson (text: string): unknown[] {
  const events: unknown[] = []
  let line = 0
  for (const raw of text.split('\n')) {
    line++
    const trimmed = raw.trim()
    if (trimmed === '') continue
    events.push(parseJson(trimmed, `line ${line}`))
  }
  return events
}

/** Replaces the JSON parser and adds NDJSON, in the scope of the plugin that calls it. */
export function registerBodyParsers (app: FastifyInstance, bodyLimit: number): void {
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => {
    try {
      done(null, parseJson(decode(body as Buffer), 'the body'))
    } catch (err) {
      done(err as Error, undefined)
    }
  })
  app.addContentTypeParser(NDJSON, { parseAs: 'buffer', bodyLimit }, (_request, body, done) => {
    try {
      done(null, parseNdjson(decode(body as Buffer)))
    } catch (err) {
      done(err as Error, undefined)
    }
  })
}
