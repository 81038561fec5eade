import { parseArgs } from 'node:util'

export interface BenchOptions {
  /** Scenario names to run; empty: all of them. */
  only: string[]
  smoke: boolean
  /** Seconds measured, after the warm-up. */
  duration: number
  /** Seconds of load before the measured run, not recorded (JIT, pools, caches). */
  warmup: number
  /** Connections of the single-event scenarios (ceiling-http, naive, single-*, hot-keys); light-load has 1. */
  connections: number
  /** Connections of the batch scenarios: each holds a whole batch in flight. */
  batchConnections: number
  /** taskset: the service and PostgreSQL on one core, the load generator on another. */
  pin: boolean
  /** node --cpu-prof on each service process; summaries in the report. */
  profile: boolean
  /** pg_stat_statements in the embedded cluster: the top statements of each scenario in the report. */
  statements: boolean
  /** --service-env KEY=VALUE: on top of every service scenario's own environment, for experiments. */
  serviceEnv: Record<string, string>
  /** The growth group: rows of history loaded before the second round of windows. */
  historyRows: number
  /** The growth group: rows in the table migration 005 upgrades. */
  upgradeRows: number
}

const DEFAULT_HISTORY_ROWS = 20_000_000
const DEFAULT_UPGRADE_ROWS = 2_000_000

export const USAGE = `usage: npm run bench -- [options]            (or, without the build: npx tsx bench/run.ts [options])
       npm run bench -- --only <name> [options]    (one scenario alone)

  --only <name[,name]>      run only these scenarios, or groups (repeatable)
  --smoke                   a couple of seconds per scenario, no warm-up (CI: the scripts never rot)
  --duration <s>            measured seconds per scenario (default 10; smoke 2)
  --warmup <s>              unrecorded load before each measured run (default 3; smoke 0)
  --connections <n>         connections of the single-event scenarios (default 100)
  --batch-connections <n>   connections of the batch scenarios (default 10)
  --pin                     taskset: service + PostgreSQL on the first core, load generator on the last
  --profile                 node --cpu-prof on the service; top functions in the report
  --statements              load pg_stat_statements (embedded PostgreSQL): top statements per scenario
  --service-env KEY=VALUE   extra service configuration for every service scenario, e.g.
                            FLUSH_CONCURRENCY=4 (repeatable; an experiment: latest.md is not replaced)
  --history-rows <n>        growth: rows of history over the last 30 days (default 20,000,000)
  --upgrade-rows <n>        growth: rows in the table migration 005 upgrades (default 2,000,000)
  --help

Opt-in groups run only when --only names them (or one of their scenarios): never in the default
run, nor in --smoke's. growth (issue 12): single-durable and batch-1000 on empty tables, then on
--history-rows of history, partitioned against unpartitioned, each on a database of its own; and
how long migration 005 takes on --upgrade-rows rows. Many minutes at the defaults; a quick check:
  npm run bench -- --only growth --history-rows 200000 --upgrade-rows 100000 --duration 3 --warmup 1
replicas (issue 13): single-durable and batch-1000 straight to one service, then through HAProxy
(deploy/haproxy.cfg; needs haproxy on the PATH) to 1, 2 and 3 replicas on the one PostgreSQL, with
the CPU of each process. About 3 minutes at the defaults:
  npm run bench -- --only replicas

DATABASE_URL set: use that server (its tables are truncated! growth creates and drops databases
bench_growth_* there, which needs CREATEDB); unset: a fresh embedded PostgreSQL.`

export class UsageError extends Error {
  override name = 'UsageError'
}

function positive (name: string, text: string | undefined, fallback: number, { integer = false, zero = false } = {}): number {
  if (text === undefined) return fallback
  const value = Number(text)
  const ok = Number.isFinite(value) && (zero ? value >= 0 : value > 0) && (!integer || Number.isInteger(value))
  if (!ok) throw new UsageError(`--${name} must be a ${integer ? 'whole' : ''} number ${zero ? '≥ 0' : '> 0'}, not ${JSON.stringify(text)}`)
  return value
}

export function parseBenchOptions (argv: readonly string[]): BenchOptions & { help: boolean } {
  let values
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        only: { type: 'string', multiple: true },
        smoke: { type: 'boolean', default: false },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        connections: { type: 'string' },
        'batch-connections': { type: 'string' },
        pin: { type: 'boolean', default: false },
        profile: { type: 'boolean', default: false },
        statements: { type: 'boolean', default: false },
        'service-env': { type: 'string', multiple: true },
        'history-rows': { type: 'string' },
        'upgrade-rows': { type: 'string' },
        help: { type: 'boolean', default: false }
      },
      strict: true,
      allowPositionals: false
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const smoke = values.smoke
  const serviceEnv: Record<string, string> = {}
  for (const pair of values['service-env'] ?? []) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair)
    if (match === null) throw new UsageError(`--service-env takes KEY=VALUE, not ${JSON.stringify(pair)}`)
    serviceEnv[match[1]!] = match[2]!
  }
  return {
    only: (values.only ?? []).flatMap(list => list.split(',')).map(name => name.trim()).filter(name => name !== ''),
    smoke,
    duration: positive('duration', values.duration, smoke ? 2 : 10),
    warmup: positive('warmup', values.warmup, smoke ? 0 : 3, { zero: true }),
    connections: positive('connections', values.connections, 100, { integer: true }),
    batchConnections: positive('batch-connections', values['batch-connections'], 10, { integer: true }),
    pin: values.pin,
    profile: values.profile,
    statements: values.statements,
    serviceEnv,
    historyRows: positive('history-rows', values['history-rows'], DEFAULT_HISTORY_ROWS, { integer: true }),
    upgradeRows: positive('upgrade-rows', values['upgrade-rows'], DEFAULT_UPGRADE_ROWS, { integer: true }),
    help: values.help
  }
}
