/**
 * The no-loss check: after a run, the rows in user_metrics match the events the service
 * acknowledged. Every event carries a unique event_id and no session conflicts, so each
 * acknowledged event is exactly one row.
 *
 * The client stops mid-flight: when the measured window ends autocannon closes its sockets with
 * up to one request per connection unanswered. The service may still commit those (their 2xx
 * went nowhere), so the rows may exceed the acknowledged events by at most the unanswered
 * requests' events — never more (that would be a row nobody sent), and never fewer (a 2xx whose
 * row is missing is a lost event).
 */
import { AckMode } from '../../../src/config.js'

export interface NoLossInput {
  ackMode: AckMode
  eventsPerRequest: number
  /** 2xx answers. */
  ok: number
  /** Requests written, answered or not, and requests answered (any status). */
  sent: number
  responses: number
  /** Rows right after the measured window (durable: every 2xx is already committed). */
  storedAtEnd: number
  /** Rows once the service held nothing more. */
  storedAfterDrain: number
}

export interface NoLossCheck {
  passed: boolean
  acked: number
  /** Most events the unanswered requests could have added. */
  unansweredEvents: number
  storedAtEnd: number
  stored: number
  message: string
}

export function checkNoLoss (input: NoLossInput): NoLossCheck {
  const acked = input.ok * input.eventsPerRequest
  const unansweredEvents = Math.max(0, input.sent - input.responses) * input.eventsPerRequest
  const stored = input.storedAfterDrain
  const base = { acked, unansweredEvents, storedAtEnd: input.storedAtEnd, stored }
  if (input.ackMode === AckMode.durable && input.storedAtEnd < acked) {
    return { ...base, passed: false, message: `LOST: ${acked - input.storedAtEnd} events answered 2xx (committed) were not in the database right after the run (${input.storedAtEnd} rows, ${acked} acknowledged)` }
  }
  if (stored < acked) {
    return { ...base, passed: false, message: `LOST: ${acked - stored} acknowledged events are missing after the drain (${stored} rows, ${acked} acknowledged)` }
  }
  if (stored > acked + unansweredEvents) {
    return { ...base, passed: false, message: `EXTRA: ${stored - acked - unansweredEvents} rows beyond the acknowledged events and every unanswered request's (${stored} rows, ${acked} acknowledged, ≤ ${unansweredEvents} unanswered)` }
  }
  return { ...base, passed: true, message: `ok: ${stored} rows = ${acked} acknowledged + ${stored - acked} of ≤ ${unansweredEvents} from unanswered requests` }
}
