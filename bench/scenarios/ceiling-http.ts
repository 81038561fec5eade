import { BodyKind } from '../lib/bodies.js'
import { httpScenario } from '../lib/http-scenario.js'
import { isMain } from '../lib/main.js'
import { runAlone } from '../lib/bench.js'

/** Alone: `npx tsx bench/scenarios/ceiling-http.ts [--duration 10] [--smoke] …` (see bench/run.ts --help). */
export const ceilingHttp = httpScenario({
  name: 'ceiling-http',
  description: 'Fastify with the event schema and a no-op handler: the most any single-event route can do here',
  target: 'ceiling',
  route: '/data',
  body: { kind: BodyKind.single, events: 1 },
  connections: options => options.connections
})

if (isMain(import.meta.url)) await runAlone(ceilingHttp)
