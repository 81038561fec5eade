import { BodyKind } from '../lib/bodies.js'
import { httpScenario } from '../lib/http-scenario.js'
import { isMain } from '../lib/main.js'
import { runAlone } from '../lib/bench.js'

/** Alone: `npx tsx bench/scenarios/naive.ts [--duration 10] [--smoke] …` (see bench/run.ts --help). */
export const naive = httpScenario({
  name: 'naive',
  description: "The origin's design, one transaction per request: the service with FLUSH_MAX_ROWS=1",
  target: 'service',
  route: '/data',
  body: { kind: BodyKind.single, events: 1 },
  env: { ACK_MODE: 'durable', FLUSH_MAX_ROWS: '1' },
  connections: options => options.connections
})

if (isMain(import.meta.url)) await runAlone(naive)
