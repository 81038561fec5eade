import { parseArgs } from 'node:util'

export interface BenchOptions {
  /** Scenario names to run; empty: all of them. */
  only: string[]
  smoke: boolean
  /** Seconds measured, after the warm-up. */
  duration: number
  /** Seconds of load before the measured run, not recorded (JIT, pools, caches). */
  warmup: number
  /** Connections of the single-event scenarios (ceiling-http, naive, single-*, hot-keys, live-traffic); light-load has 1. */
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
  /** --target: the HTTP scenarios against a deployment the bench did not start; undefined: the bench's own service. */
  target?: TargetOptions
}

/** A deployment the bench loads but did not start: nothing of it is configured, reset or read from /proc. */
export interface TargetOptions {
  /** Its base URL without a trailing slash: the routes (/data, /data/batch) are appended. */
  url: string
  /** The base its /metrics is under (default: url): the drain and the service's own figures. */
  metricsUrl: string
  /** Sent as `Authorization: Bearer <apiKey>` on every request (--api-key, or BENCH_API_KEY). */
  apiKey?: string
  /** Its database (--database-url): only read — rows counted for the no-loss check, never truncated. */
  databaseUrl?: string
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
  --target <url>            load a deployment the bench did not start (http://host:port): see below
  --api-key <key>           with --target: sent as Authorization: Bearer <key> (or env BENCH_API_KEY)
  --database-url <url>      with --target: that deployment's PostgreSQL (postgres://…), only read —
                            the no-loss check counts this run's rows there; nothing is truncated
  --metrics-url <url>       with --target: where its /metrics is (default: the target's URL)
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
bench_growth_* there, which needs CREATEDB); unset: a fresh embedded PostgreSQL.

--target: the HTTP scenarios that only need a service (single-durable, hot-keys, light-load,
batch-100, batch-1000, batch-1000-ndjson-gzip) go to that URL; no service and no PostgreSQL are
started and DATABASE_URL is not used. Skipped, each with its reason: the ceilings and bare-commit
(the bench's own processes and database), the scenarios that set the service's environment
(naive's FLUSH_MAX_ROWS=1, single-buffered's ACK_MODE, the stream ones: a running deployment keeps
its own), live-traffic (its sessions never stop opening), and the growth and replicas groups. The
target's ack mode is read from its answers (200: durable; 202: buffered or stream). With
--database-url the rows this run sent are counted there (every event_id of a window shares a
random prefix: an index range scan, whatever else the table holds) and checked against the 2xx
answers after the drain; without it events/s are 2xx answers × events per request and the report
says no-loss was not checked. The drain reads /metrics
(--metrics-url), else waits for the row count to settle (--database-url), else is skipped. CPU:
only the load generator's (the target's processes are not ours to read). Never replaces latest.*:
  npm run bench -- --target http://10.0.0.5:8080 --api-key "$KEY" \\
    --database-url postgres://reader:secret@10.0.0.6:5432/metrics --metrics-url http://10.0.0.5:9464 \\
    --only single-durable,batch-1000 --duration 30 --warmup 5`

/** `KEY=VALUE` settings given with `--<flag>` (repeatable), as an environment. */
export function parseSettings (flag: string, pairs: readonly string[]): Record<string, string> {
  const settings: Record<string, string> = {}
  for (const pair of pairs) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair)
    if (match === null) throw new UsageError(`--${flag} takes KEY=VALUE, not ${JSON.stringify(pair)}`)
    settings[match[1]!] = match[2]!
  }
  return settings
}

export class UsageError extends Error {
  override name = 'UsageError'
}

function httpUrl (name: string, text: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`--${name} must be a URL such as http://host:8080, not ${JSON.stringify(text)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--${name} must be an http:// or https:// URL, not ${JSON.stringify(text)}`)
  if (url.search !== '' || url.hash !== '') throw new UsageError(`--${name} takes a base URL (the bench appends the paths), without ?query or #fragment: ${JSON.stringify(text)}`)
  return url
}

/** `http://host:8080/` → `http://host:8080`: the routes are appended to it. */
const base = (url: URL): string => url.href.replace(/\/+$/, '')

/** The URL of the service, or of its /metrics itself: the base `/metrics` is appended to. */
function metricsBase (text: string): string {
  const url = httpUrl('metrics-url', text)
  url.pathname = url.pathname.replace(/\/+$/, '').replace(/\/metrics$/, '')
  return base(url)
}

function parseTarget (values: { target?: string, 'api-key'?: string, 'database-url'?: string, 'metrics-url'?: string }, env: Readonly<Record<string, string | undefined>>): TargetOptions | undefined {
  if (values.target === undefined) {
    for (const name of ['api-key', 'database-url', 'metrics-url'] as const) {
      if (values[name] !== undefined) throw new UsageError(`--${name} goes with --target <url> (a deployment the bench did not start)`)
    }
    return undefined
  }
  const url = base(httpUrl('target', values.target))
  // An empty BENCH_API_KEY is as good as unset; an empty --api-key is a mistake.
  const apiKey = values['api-key'] ?? (env.BENCH_API_KEY === '' ? undefined : env.BENCH_API_KEY)
  if (apiKey !== undefined && !/^[\x21-\x7e]+$/.test(apiKey)) throw new UsageError('--api-key (or BENCH_API_KEY) must be printable ASCII without spaces: it goes into an Authorization header')
  const databaseUrl = values['database-url']
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/./.test(databaseUrl)) throw new UsageError('--database-url must be a postgres:// or postgresql:// URL')
  return {
    url,
    metricsUrl: values['metrics-url'] === undefined ? url : metricsBase(values['metrics-url']),
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...(databaseUrl !== undefined ? { databaseUrl } : {})
  }
}

/** What --target cannot honour: each configures a process the bench starts, or writes to its database. */
const NOT_WITH_TARGET = {
  'service-env': 'sets the environment of a service the bench starts; a running deployment keeps its own',
  pin: 'places the service and PostgreSQL the bench starts on cores',
  profile: 'profiles a service process the bench starts',
  statements: 'resets pg_stat_statements, a write to a database the bench did not create'
} as const

/** The command line for the report: the API key and any database password replaced by ***. */
export function redactArgs (argv: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--api-key' && i + 1 < argv.length) {
      out.push(arg, '***')
      i++
    } else if (arg.startsWith('--api-key=')) {
      out.push('--api-key=***')
    } else {
      out.push(redactPassword(arg))
    }
  }
  return out
}

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`; anything else as it is. */
export function redactPassword (text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@')
}

function positive (name: string, text: string | undefined, fallback: number, { integer = false, zero = false } = {}): number {
  if (text === undefined) return fallback
  const value = Number(text)
  const ok = Number.isFinite(value) && (zero ? value >= 0 : value > 0) && (!integer || Number.isInteger(value))
  if (!ok) throw new UsageError(`--${name} must be a ${integer ? 'whole' : ''} number ${zero ? '≥ 0' : '> 0'}, not ${JSON.stringify(text)}`)
  return value
}

/** `env`: where BENCH_API_KEY is read (the process's environment). */
export function parseBenchOptions (argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): BenchOptions & { help: boolean } {
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
        target: { type: 'string' },
        'api-key': { type: 'string' },
        'database-url': { type: 'string' },
        'metrics-url': { type: 'string' },
        help: { type: 'boolean', default: false }
      },
      strict: true,
      allowPositionals: false
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const smoke = values.smoke
  const serviceEnv = parseSettings('service-env', values['service-env'] ?? [])
  const target = parseTarget(values, env)
  if (target !== undefined) {
    const given = { 'service-env': Object.keys(serviceEnv).length > 0, pin: values.pin, profile: values.profile, statements: values.statements }
    for (const [name, why] of Object.entries(NOT_WITH_TARGET)) {
      if (given[name as keyof typeof given]) throw new UsageError(`--${name} does not go with --target: it ${why}`)
    }
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
    ...(target !== undefined ? { target } : {}),
    help: values.help
  }
}
