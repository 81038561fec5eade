/**
 * A real Prometheus scraping the real service: the job and rules of prometheus.yml, pointed at a
 * service started like `npm start`, see what the service counted.
 */
import { spawn, spawnSync } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { parse, stringify } from 'yaml'
import { event } from '../helpers/app.js'
import { freePort, testDatabase } from '../helpers/database.js'
import { startServer } from '../helpers/server-process.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const EVENTS = 25
// Prometheus scrapes every second here; this is many scrapes, not a guess at one.
const WAIT_MS = 30_000

const onPath = (command: string): boolean => spawnSync(command, ['--version'], { stdio: 'ignore' }).error === undefined
const missing = (command: string): string | false => onPath(command)
  ? false
  : `${command} is not on PATH (CI installs Debian's prometheus package; locally: apt-get install prometheus)`

interface QueryResponse {
  status: string
  data?: { result?: Array<{ metric: Record<string, string>, value: [number, string] }> }
}

interface Prometheus {
  url: string
  /** The instant query's samples, as numbers. */
  query: (promql: string) => Promise<Array<{ metric: Record<string, string>, value: number }>>
  log: () => string
}

/** prometheus.yml as the compose stack runs it, re-pointed at `target` and scraping every second. */
async function startPrometheus (t: Test, target: string): Promise<Prometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'prometheus-scrape-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const config = parse(await readFile(join(ROOT, 'prometheus.yml'), 'utf8')) as {
    global: Record<string, string>
    scrape_configs: Array<{ job_name: string, dns_sd_configs?: unknown, static_configs?: Array<{ targets: string[] }> }>
  }
  config.global = { ...config.global, scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' }
  // The service's job as shipped, but for where its targets come from (Docker's DNS in compose);
  // HAProxy is scraped in test/deploy/replicas.test.ts, where one runs.
  config.scrape_configs = config.scrape_configs.filter(job => job.job_name === 'metrics-ingest')
  for (const job of config.scrape_configs) {
    delete job.dns_sd_configs
    job.static_configs = [{ targets: [target] }]
  }
  await writeFile(join(dir, 'prometheus.yml'), stringify(config))
  await mkdir(join(dir, 'prometheus'))
  await copyFile(join(ROOT, 'prometheus/alerts.yml'), join(dir, 'prometheus/alerts.yml'))

  const port = await freePort()
  const child = spawn('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`
  ], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr.on('data', (chunk: Buffer) => { log += chunk.toString() })
  const exited = new Promise(resolve => { child.on('exit', resolve) })
  t.teardown(async () => {
    child.kill('SIGTERM')
    await Promise.race([exited, sleep(10_000, undefined, { ref: false }).then(() => child.kill('SIGKILL'))])
  })

  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${log}`)
    const ready = await fetch(`${url}/-/ready`).then(res => res.ok, () => false)
    if (ready) break
    if (Date.now() > deadline) throw new Error(`prometheus not ready in ${WAIT_MS} ms:\n${log}`)
    await sleep(200)
  }

  return {
    url,
    log: () => log,
    query: async promql => {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`)
      const body = await res.json() as QueryResponse
      if (body.status !== 'success') throw new Error(`query ${promql} failed: ${JSON.stringify(body)}`)
      return (body.data?.result ?? []).map(({ metric, value }) => ({ metric, value: Number(value[1]) }))
    }
  }
}

/** Polls until `done` accepts what it saw or the deadline passes; returns what the last poll saw. */
async function eventually<T> (poll: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    const value = await poll()
    if (done(value) || Date.now() > deadline) return value
    await sleep(250)
  }
}

// One service for the whole file: each testDatabase may start its own PostgreSQL cluster.
const db = await testDatabase(t)
const server = await startServer({ DATABASE_URL: db.url })
t.teardown(async () => {
  server.child.kill('SIGTERM')
  await Promise.race([server.exited, sleep(15_000, undefined, { ref: false }).then(() => server.child.kill('SIGKILL'))])
})

async function post (body: Record<string, unknown>): Promise<{ status: number, text: string }> {
  const res = await fetch(`${server.address}/data`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  return { status: res.status, text: await res.text() }
}

async function scrape (t: Test): Promise<string> {
  const res = await fetch(`${server.address}/metrics`)
  t.equal(res.status, 200, 'GET /metrics')
  return await res.text()
}

t.test('Prometheus scrapes the service with the compose stack\'s job and rules', { skip: missing('prometheus') }, async t => {
  const target = new URL(server.address).host
  const prometheus = await startPrometheus(t, target)

  const answers = []
  for (let i = 1; i <= EVENTS; i++) answers.push(await post(event({ session_id: 9000 + i })))
  t.same(answers.filter(answer => answer.status !== 200), [], `all ${EVENTS} events committed`)

  const seen = await eventually(async () => ({
    up: await prometheus.query('up{job="metrics-ingest"}'),
    accepted: await prometheus.query('ingest_events_accepted_total{job="metrics-ingest"}')
  }), ({ up, accepted }) => up[0]?.value === 1 && accepted[0]?.value === EVENTS)
  if (seen.up[0]?.value !== 1) t.comment(`prometheus log:\n${prometheus.log()}`)
  t.match(seen.up, [{ metric: { job: 'metrics-ingest', instance: target }, value: 1 }], 'up{job="metrics-ingest"} is 1')
  t.equal(seen.up.length, 1, 'one target')
  t.match(seen.accepted, [{ metric: { job: 'metrics-ingest', instance: target }, value: EVENTS }],
    `Prometheus sees ${EVENTS} accepted events (saw ${JSON.stringify(seen.accepted)})`)

  const rules = await eventually(async () => {
    const res = await fetch(`${prometheus.url}/api/v1/rules`)
    const body = await res.json() as { data: { groups: Array<{ rules: Array<{ name: string, health: string, lastError?: string }> }> } }
    return body.data.groups.flatMap(group => group.rules)
  }, loaded => loaded.length > 0 && loaded.every(rule => rule.health === 'ok'))
  t.equal(rules.length, 13, 'Prometheus loaded the thirteen alert rules of prometheus/alerts.yml')
  t.same(rules.filter(rule => rule.health !== 'ok'), [], 'every rule evaluates without error')
  const firing = await prometheus.query('ALERTS{alertstate="firing"}')
  t.same(firing.map(alert => alert.metric.alertname), [], 'no alert fires on a healthy service')
})

t.test('a live scrape of /metrics passes promtool check metrics', { skip: missing('promtool') }, async t => {
  const { status } = await post(event({ session_id: 8000 }))
  t.equal(status, 200, 'an event committed, so the histograms have samples')
  const text = await scrape(t)
  t.match(text, /^ingest_events_committed_total [1-9]\d*$/m, 'the scrape is the service\'s metrics')

  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
  t.equal(`${check.stdout}${check.stderr}`, '', 'promtool reports no problem')
  t.equal(check.status, 0, 'promtool check metrics succeeds')
})

t.test('the failure counters the alerts watch are exported at 0 before the first failure', async t => {
  // increase() needs a sample before the rise: a series born at 1 on the first failure shows no
  // increase, so IngestFlushErrors and IngestRejectingBufferFull would miss it (alerts.yml).
  // Nothing in this file fails a flush or fills the buffer, so these lines exist only if the
  // service creates them at start-up.
  const text = await scrape(t)
  for (const [metric, label] of [['ingest_flushes_total', 'outcome="error"'], ['ingest_events_rejected_total', 'reason="buffer_full"']] as const) {
    const lines = text.split('\n').filter(line => line.startsWith(`${metric}{`) && line.includes(label))
    t.ok(lines.length > 0 && lines.every(line => line.endsWith(' 0')), `${metric}{${label}} is exported at 0 (found: ${JSON.stringify(lines)})`)
  }
})

t.test('every metric the dashboard and the alerts use is one the service declares', async t => {
  const declared = new Map<string, string>()
  for (const [, name, type] of (await scrape(t)).matchAll(/^# TYPE (\S+) (\S+)$/gm)) declared.set(name!, type!)
  const isDeclared = (name: string): boolean => {
    if (declared.has(name)) return true
    const family = /^(.+)_(bucket|sum|count)$/.exec(name)
    return family !== null && declared.get(family[1]!) === 'histogram'
  }
  const sources = await Promise.all(['grafana/dashboards/metrics-ingest.json', 'prometheus/alerts.yml']
    .map(path => readFile(join(ROOT, path), 'utf8')))
  // Every metric but `up` (Prometheus' own) has one of these prefixes.
  const used = new Set(sources.flatMap(source => [...source.matchAll(/\b(?:ingest|http|process|nodejs)_[a-z0-9_]+/g)].map(([name]) => name)))
  t.ok(used.size >= 15, `${used.size} metric names found in the dashboard and alerts`)
  t.same([...used].filter(name => !isDeclared(name)).sort(), [], 'none is missing from GET /metrics')
})
