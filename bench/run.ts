/**
 * The benchmark suite (issue 6): every scenario in order against one PostgreSQL, a table, the
 * ratios against the targets, and bench/results/<timestamp>.{json,md,svg} — after a full run
 * latest.{json,md,svg} too.
 *
 *   npm run bench                          build, then every scenario but the opt-in groups' (10 s each after a 3 s warm-up)
 *   npm run bench -- --only single-durable one scenario (or, without the build: npx tsx bench/run.ts --only single-durable)
 *   npm run bench -- --smoke               2 s each, no warm-up: CI's check that the scripts still run
 *   npm run bench -- --only growth         the opt-in growth group (issue 12): many minutes
 *   npm run bench -- --only replicas       the opt-in replicas group (issue 13): HAProxy before 1–3 services
 *   npm run bench -- --help                the options and every scenario's name
 *   npm run bench -- --target http://host:8080 [--api-key <key>] [--database-url postgres://…] [--metrics-url <url>]
 *                                          the HTTP scenarios against a deployment the bench did not start
 *                                          (nothing started, nothing truncated; timestamped files only)
 *
 * Exits 1 when a scenario fails or a no-loss check finds a lost (or extra) row; figures never fail it.
 */
import { main } from './lib/run/run-bench.js'
import { GROUPS, SCENARIOS } from './scenarios/index.js'

await main(SCENARIOS, GROUPS, process.argv.slice(2))
