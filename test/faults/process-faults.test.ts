/**
 * The fault suite's short profile for the service's processes and connections, inside
 * `npm test` (about 75 s): SIGTERM and SIGKILL mid-load, three replicas behind a real HAProxy
 * with one stopped and one killed, thousands of slow connections. database-faults.test.ts says
 * why the scenarios are spread over four files and which are left to `npm run faults`.
 */
import t from 'tap'
import { runShortScenarios } from './lib/short-run.js'

await runShortScenarios(t, 'sigterm-buffered,sigkill,replicas,slow-clients')
