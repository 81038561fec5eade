import { AckMode } from '../../../src/config.js'
import type { Scenario } from '../lib/scenario.js'
import { bufferedRestart } from './buffered-restart.js'
import { overload } from './overload.js'
import { pgRestart } from './pg-restart.js'
import { poison } from './poison.js'
import { replicas } from './replicas.js'
import { sigkill } from './sigkill.js'
import { slowClients } from './slow-clients.js'
import { sigterm } from './sigterm.js'
import { streamFull, streamNatsNode, streamPgOutage, streamSigkill } from './stream.js'

/** Every scenario, in the order the issue lists them. */
export const SCENARIOS: readonly Scenario[] = [
  pgRestart('fast'),
  pgRestart('immediate'),
  sigterm(AckMode.durable),
  sigterm(AckMode.buffered),
  sigkill,
  overload,
  poison,
  bufferedRestart,
  replicas,
  slowClients,
  streamPgOutage,
  streamSigkill,
  streamNatsNode,
  streamFull
]

/** Scenarios by name; `--only pg-restart` picks both restarts (a name or a prefix, comma-separated). */
export function select (only: string | undefined): Scenario[] {
  if (only === undefined) return [...SCENARIOS]
  const wanted = only.split(',').map(s => s.trim()).filter(s => s !== '')
  const chosen = SCENARIOS.filter(s => wanted.some(w => s.name === w || s.name.startsWith(w)))
  const unknown = wanted.filter(w => !SCENARIOS.some(s => s.name === w || s.name.startsWith(w)))
  if (unknown.length > 0) {
    throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map(s => s.name).join(', ')}`)
  }
  return chosen
}
