import { BodyKind } from '../lib/bodies.js'
import { httpScenario } from '../lib/http-scenario.js'
import { isMain } from '../lib/main.js'
import { runAlone } from '../lib/bench.js'

/** Alone: `npx tsx bench/scenarios/single-buffered.ts [--duration 10] [--smoke] …` (see bench/run.ts --help). */
export const singleBuffered = httpScenario({
  name: 'single-buffered',
  description: 'POST /data, ACK_MODE=buffered: 202 once buffered, committed after',
  target: 'service',
  route: '/data',
  body: { kind: BodyKind.single, events: 1 },
  env: { ACK_MODE: 'buffered' },
  connections: options => options.connections
})

if (isMain(import.meta.url)) await runAlone(singleBuffered)
