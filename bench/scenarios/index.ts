/**
 * Every scenario of the bench, in the order it runs them: the ceilings and baselines first, then
 * the service from one transaction per request up to batches. Each runs alone by its name:
 * `npm run bench -- --only <name>`. Then the opt-in groups, which run only when --only names them
 * (or one of their scenarios): growth, many minutes long; replicas, HAProxy before 1–3 services.
 *
 * The HTTP scenarios are specs (lib/run/http-scenario.ts): the service with ACK_MODE=durable and
 * its defaults unless `env` says otherwise; single events on POST /data over --connections,
 * batches on POST /data/batch over --batch-connections; 10,000 users with 10 sessions each
 * unless `keys` says otherwise.
 */
import { AckMode } from '../../src/config.js'
import { BodyKind, type BodySpec } from '../lib/load/bodies.js'
import { httpScenario, type HttpScenarioSpec } from '../lib/run/http-scenario.js'
import { GrowthSchema, type Scenario } from '../lib/scenario.js'
import { bareCommit } from './bare-commit.js'
import { ceilingCopy } from './ceiling-copy.js'
import { clientScenario } from './client.js'
import { growthScenario } from './growth.js'
import { growthUpgrade } from './growth-upgrade.js'
import { pairedScenario } from './paired.js'
import { replicasScenario } from './replicas.js'

const SINGLE: BodySpec = { kind: BodyKind.single, events: 1 }
// Every request on 10 users and 20 sessions (2 each, so a session always has the same owner):
// the same rows upserted flush after flush, where the spread traffic's 10,000 users rarely meet.
const HOT_KEYS: BodySpec = { ...SINGLE, keys: { users: 10, sessionsPerUser: 2 } }
// What a running fleet sends (lib/load/live-events.ts): every event stamped as it is sent, so its
// user's profile is updated, and a session of ten events, so one event in ten opens a session.
const LIVE: BodySpec = { ...SINGLE, live: { eventsPerSession: 10 } }

// Measured by the growth group too, on empty tables and on a history; and by the replicas group, through HAProxy.
const SINGLE_DURABLE: HttpScenarioSpec = { name: 'single-durable', body: SINGLE, description: 'POST /data, ACK_MODE=durable: 200 after commit, group commit (service defaults)' }
const BATCH_1000: HttpScenarioSpec = { name: 'batch-1000', body: { kind: BodyKind.jsonArray, events: 1000 }, description: 'POST /data/batch, 1,000 events per request as a JSON array, durable' }

export const SCENARIOS: readonly Scenario[] = [
  httpScenario({ name: 'ceiling-http', target: 'ceiling', body: SINGLE, description: 'Fastify with the event schema and a no-op handler: the most any single-event route can do here' }),
  ceilingCopy,
  bareCommit,
  httpScenario({ name: 'naive', body: SINGLE, env: { FLUSH_MAX_ROWS: '1' }, description: "The origin's design, one transaction per request: the service with FLUSH_MAX_ROWS=1" }),
  httpScenario(SINGLE_DURABLE),
  pairedScenario,
  httpScenario({ name: 'hot-keys', body: HOT_KEYS, description: 'POST /data, durable, all traffic on 10 users and 20 sessions: single-durable with contended upserts' }),
  httpScenario({ name: 'live-traffic', body: LIVE, description: 'POST /data, durable, live traffic: every event stamped as sent (its user updated) and 1 in 10 opening a new session (claimed)' }),
  httpScenario({ name: 'single-buffered', body: SINGLE, env: { ACK_MODE: AckMode.buffered }, description: 'POST /data, ACK_MODE=buffered: 202 once buffered, committed after' }),
  httpScenario({ name: 'single-stream', body: SINGLE, stream: true, description: 'POST /data, ACK_MODE=stream (ROLE=all, one nats-server, R1): 202 once JetStream holds it, written from the stream after' }),
  httpScenario({ name: 'light-load', body: SINGLE, connections: 1, description: 'POST /data, durable, 1 connection: the latency when batching has nothing to batch' }),
  httpScenario({ name: 'batch-100', body: { kind: BodyKind.jsonArray, events: 100 }, description: 'POST /data/batch, 100 events per request as a JSON array, durable' }),
  httpScenario(BATCH_1000),
  httpScenario({ name: 'batch-1000-stream', body: { kind: BodyKind.jsonArray, events: 1000 }, stream: true, description: 'POST /data/batch, 1,000 events per request, ACK_MODE=stream: one message per request, one transaction per message' }),
  clientScenario,
  httpScenario({ name: 'batch-1000-ndjson-gzip', body: { kind: BodyKind.ndjsonGzip, events: 1000 }, description: 'POST /data/batch, 1,000 events per request as NDJSON with Content-Encoding: gzip (compressed before the run), durable' })
]

/** Opt-in: a group runs when --only names it, a scenario of it when --only names that. */
export const GROUPS: Readonly<Record<string, readonly Scenario[]>> = {
  growth: [
    growthScenario(GrowthSchema.partitioned, [SINGLE_DURABLE, BATCH_1000]),
    growthScenario(GrowthSchema.unpartitioned, [SINGLE_DURABLE, BATCH_1000]),
    growthUpgrade
  ],
  // Each: the plain scenario straight to one service, then through HAProxy to 1, 2 and 3 replicas.
  replicas: [
    replicasScenario(SINGLE_DURABLE),
    replicasScenario(BATCH_1000)
  ]
}
