import { BodyKind } from '../lib/bodies.js'
import { httpScenario } from '../lib/http-scenario.js'
import { isMain } from '../lib/main.js'
import { runAlone } from '../lib/bench.js'

/** Alone: `npx tsx bench/scenarios/light-load.ts [--duration 10] [--smoke] …` (see bench/run.ts --help). */
export const lightLoad = httpScenario({
  name: 'light-load',
  description: 'POST /data, durable, 1 connection: the latency when batching has nothing to batch',
  target: 'service',
  route: '/data',
  body: { kind: BodyKind.single, events: 1 },
  env: { ACK_MODE: 'durable' },
  connections: () => 1
})

if (isMain(import.meta.url)) await runAlone(lightLoad)
