import { BodyKind } from '../lib/bodies.js'
import { httpScenario } from '../lib/http-scenario.js'
import { isMain } from '../lib/main.js'
import { runAlone } from '../lib/bench.js'

/** Alone: `npx tsx bench/scenarios/single-durable.ts [--duration 10] [--smoke] …` (see bench/run.ts --help). */
export const singleDurable = httpScenario({
  name: 'single-durable',
  description: 'POST /data, ACK_MODE=durable: 200 after commit, group commit (service defaults)',
  target: 'service',
  route: '/data',
  body: { kind: BodyKind.single, events: 1 },
  env: { ACK_MODE: 'durable' },
  connections: options => options.connections
})

if (isMain(import.meta.url)) await runAlone(singleDurable)
