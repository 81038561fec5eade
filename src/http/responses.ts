/**
 * The bodies the HTTP API answers with, as TypeBox schemas: Fastify serialises every response
 * through them and the OpenAPI document is generated from them.
 */
import { Type, type Static } from 'typebox'

/** One thing wrong with a request, named by its JSON pointer. */
export interface FieldProblem {
  /** The item of a batch the problem is in. */
  index?: number
  path: string
  message: string
}

export const SuccessSchema = Type.Object({
  status: Type.Union([Type.Literal('success'), Type.Literal('accepted')]),
  duplicate: Type.Optional(Type.Boolean({ description: 'The event_id was already stored: acknowledged, not stored again' }))
}, { examples: [{ status: 'success' }] })

export const RejectedItemSchema = Type.Object({
  index: Type.Integer(),
  code: Type.String(),
  message: Type.String()
})

export const BatchSuccessSchema = Type.Object({
  status: Type.Union([Type.Literal('success'), Type.Literal('accepted')]),
  accepted: Type.Integer({ description: 'Events stored by this request (durable), or buffered (buffered mode)' }),
  duplicates: Type.Integer({ description: 'Events whose event_id was already stored' }),
  rejected: Type.Array(RejectedItemSchema, { description: 'Items refused by the database, e.g. a session owned by another user' })
}, { examples: [{ status: 'success', accepted: 998, duplicates: 1, rejected: [{ index: 17, code: 'INGEST_SESSION_CONFLICT', message: 'session 5 belongs to another user' }] }] })

export const ErrorSchema = Type.Object({
  status: Type.Literal('error'),
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Array(Type.Object({
    index: Type.Optional(Type.Integer({ description: 'The batch item (from 0)' })),
    path: Type.String({ description: 'JSON pointer to the field inside the event' }),
    message: Type.String()
  }))),
  omittedDetails: Type.Optional(Type.Integer({ description: 'Problems beyond the first 100 listed' }))
})
export type ErrorBody = Static<typeof ErrorSchema>
