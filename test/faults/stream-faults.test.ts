/**
 * The fault suite's four stream-mode scenarios in their short profile, inside `npm test` (about
 * 80 s): real nats-servers (one, or a three-node cluster) between ingest and writer processes —
 * PostgreSQL stopped mid-load, a writer and an ingest process SIGKILLed, the stream's leader
 * SIGKILLed, a full stream. faults.test.ts runs the others; `npm run faults` runs all, longer.
 */
import t from 'tap'
import { runShortScenarios } from './lib/short-run.js'

await runShortScenarios(t, 'stream-')
