/**
 * The benchmark suite (issue 6): every scenario in order against one PostgreSQL, a table, the
 * ratios against the targets, and bench/results/<timestamp>.{json,md,svg}.
 *
 *   npm run bench                          build, then everything (10 s each after a 3 s warm-up)
 *   npm run bench -- --only single-durable one scenario (or: npx tsx bench/scenarios/single-durable.ts)
 *   npm run bench -- --smoke               2 s each, no warm-up: CI's check that the scripts still run
 *   npm run bench -- --help
 *
 * Exits 1 when a scenario fails or a no-loss check finds a lost (or extra) row; figures never fail it.
 */
import { main } from './lib/bench.js'
import { bareCommit } from './scenarios/bare-commit.js'
import { batch100 } from './scenarios/batch-100.js'
import { batch1000 } from './scenarios/batch-1000.js'
import { batch1000NdjsonGzip } from './scenarios/batch-1000-ndjson-gzip.js'
import { ceilingCopy } from './scenarios/ceiling-copy.js'
import { ceilingHttp } from './scenarios/ceiling-http.js'
import { lightLoad } from './scenarios/light-load.js'
import { naive } from './scenarios/naive.js'
import { singleBuffered } from './scenarios/single-buffered.js'
import { singleDurable } from './scenarios/single-durable.js'

// Ceilings and baselines first, then the service from one transaction per request up to batches.
export const SCENARIOS = [
  ceilingHttp,
  ceilingCopy,
  bareCommit,
  naive,
  singleDurable,
  singleBuffered,
  lightLoad,
  batch100,
  batch1000,
  batch1000NdjsonGzip
] as const

await main(SCENARIOS, process.argv.slice(2))
