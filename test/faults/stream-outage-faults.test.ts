/**
 * Two of the fault suite's four stream-mode scenarios in their short profile, inside `npm test`
 * (about 60 s): a real nats-server between ingest and writer processes — PostgreSQL stopped
 * mid-load, then a writer and an ingest process SIGKILLed. stream-cluster-faults.test.ts runs
 * the other two; `npm run faults` runs all, longer.
 */
import t from 'tap'
import { runShortScenarios } from './lib/short-run.js'

await runShortScenarios(t, 'stream-pg-outage,stream-sigkill')
