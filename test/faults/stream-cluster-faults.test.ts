/**
 * The other two stream-mode scenarios in their short profile, inside `npm test` (about 50 s):
 * the stream leader of a three-node NATS cluster SIGKILLed mid-load, and a stream that fills
 * with no writer running. stream-outage-faults.test.ts runs the first two.
 */
import t from 'tap'
import { runShortScenarios } from './lib/short-run.js'

await runShortScenarios(t, 'stream-nats-node,stream-full')
