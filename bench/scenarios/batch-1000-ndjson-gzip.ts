import { BodyKind } from '../lib/bodies.js'
import { httpScenario } from '../lib/http-scenario.js'
import { isMain } from '../lib/main.js'
import { runAlone } from '../lib/bench.js'

/** Alone: `npx tsx bench/scenarios/batch-1000-ndjson-gzip.ts [--duration 10] [--smoke] …` (see bench/run.ts --help). */
export const batch1000NdjsonGzip = httpScenario({
  name: 'batch-1000-ndjson-gzip',
  description: 'POST /data/batch, 1,000 events per request as NDJSON with Content-Encoding: gzip (compressed before the run), durable',
  target: 'service',
  route: '/data/batch',
  body: { kind: BodyKind.ndjsonGzip, events: 1000 },
  env: { ACK_MODE: 'durable' },
  connections: options => options.batchConnections
})

if (isMain(import.meta.url)) await runAlone(batch1000NdjsonGzip)
