import { BodyKind } from '../lib/bodies.js'
import { httpScenario } from '../lib/http-scenario.js'
import { isMain } from '../lib/main.js'
import { runAlone } from '../lib/bench.js'

/** Alone: `npx tsx bench/scenarios/batch-1000.ts [--duration 10] [--smoke] …` (see bench/run.ts --help). */
export const batch1000 = httpScenario({
  name: 'batch-1000',
  description: 'POST /data/batch, 1,000 events per request as a JSON array, durable',
  target: 'service',
  route: '/data/batch',
  body: { kind: BodyKind.jsonArray, events: 1000 },
  env: { ACK_MODE: 'durable' },
  connections: options => options.batchConnections
})

if (isMain(import.meta.url)) await runAlone(batch1000)
