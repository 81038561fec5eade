/**
 * The Prometheus, alerting and Grafana files of the compose stack, checked the way Prometheus and
 * Grafana will read them: promtool on the config (in the layout the containers mount), the rules
 * and their unit tests, and every dashboard query parsed as PromQL.
 */
import { spawnSync } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { createMetrics } from '../../src/metrics.js'
import { parse, stringify } from 'yaml'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const file = (path: string): string => join(ROOT, path)

// Where the compose stack mounts each file: the containers' default paths, with the
// repository's files bound onto them.
const MOUNTED_AT = {
  'prometheus.yml': '/etc/prometheus/prometheus.yml',
  'prometheus/alerts.yml': '/etc/prometheus/prometheus/alerts.yml',
  'grafana/provisioning/datasources/prometheus.yml': '/etc/grafana/provisioning/datasources/prometheus.yml',
  'grafana/provisioning/dashboards/dashboards.yml': '/etc/grafana/provisioning/dashboards/dashboards.yml',
  'grafana/dashboards/metrics-ingest.json': '/var/lib/grafana/dashboards/metrics-ingest.json'
} as const
// The dashboard provider must read the folder the dashboard is mounted in.
const DASHBOARDS_DIR = dirname(MOUNTED_AT['grafana/dashboards/metrics-ingest.json'])

/** Every series name the service exports — its own metrics and prom-client's defaults — read from its registry. */
const KNOWN_METRICS = new Set(['up', ...await exportedSeriesNames()])
// HAProxy's own metrics (haproxy_*) are checked against a live HAProxy scrape in test/deploy/haproxy.test.ts.
const isKnownMetric = (name: string): boolean => KNOWN_METRICS.has(name) || name.startsWith('haproxy_')

async function exportedSeriesNames (): Promise<string[]> {
  const metrics = await createMetrics().registry.getMetricsAsJSON()
  return metrics.flatMap(({ name, type }) => String(type) === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name])
}

// Grafana replaces these before the query reaches Prometheus; any duration parses the same.
const GRAFANA_MACROS = /\$__(rate_interval|interval|range)\b/g

const onPath = (command: string): boolean => spawnSync(command, ['--version'], { stdio: 'ignore' }).error === undefined
const noPromtool = onPath('promtool')
  ? false
  : 'promtool is not on PATH (CI installs Debian\'s prometheus package; locally: apt-get install prometheus)'

function promtool (...args: string[]): { code: number | null, output: string } {
  const result = spawnSync('promtool', args, { encoding: 'utf8' })
  return { code: result.status, output: `${result.stdout}${result.stderr}` }
}

/**
 * The metric names a PromQL expression selects: identifiers that are not functions, keywords,
 * label names in matchers or in by/without/on/ignoring/group_* lists, or durations.
 */
function metricNames (expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const keywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan'])
  const names: string[] = []
  for (const match of stripped.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const [, name, call] = match
    if (name === undefined || call !== undefined || keywords.has(name.toLowerCase())) continue
    if (!names.includes(name)) names.push(name)
  }
  return names
}

interface Panel {
  id?: number
  type?: string
  title?: string
  datasource?: { uid?: string }
  targets?: Array<{ expr?: string, refId?: string, datasource?: { uid?: string } }>
  panels?: Panel[]
}

interface Dashboard {
  uid?: string
  schemaVersion?: number
  panels?: Panel[]
}

async function readDashboard (): Promise<Dashboard> {
  return JSON.parse(await readFile(file('grafana/dashboards/metrics-ingest.json'), 'utf8')) as Dashboard
}

/** Every panel, rows' nested panels included. */
function allPanels (dashboard: Dashboard): Panel[] {
  const panels: Panel[] = []
  const visit = (list: Panel[] = []): void => {
    for (const panel of list) { panels.push(panel); visit(panel.panels) }
  }
  visit(dashboard.panels)
  return panels
}

function dashboardQueries (dashboard: Dashboard): Array<{ panel: string, refId: string, expr: string }> {
  const queries = []
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      queries.push({ panel: `${panel.id ?? '?'} "${panel.title ?? ''}"`, refId: target.refId ?? '?', expr: target.expr ?? '' })
    }
  }
  return queries
}

async function tempDir (t: Test, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('metricNames finds selected metrics and nothing else', async t => {
  t.same(
    metricNames('histogram_quantile(0.99, sum by (le) (rate(foo_bucket{route="/a(b)", le!="x"}[5m]))) / on (job) group_left (instance) bar:ratio > bool 0.5 unless baz offset 1m'),
    ['foo_bucket', 'bar:ratio', 'baz'],
    'functions, label names, strings, durations and keywords are not metric names')
  t.same(metricNames('sum without (trigger) (ingest_flushes_total) or vector(0)'), ['ingest_flushes_total'], 'without() lists and vector() are skipped')
  t.notOk(metricNames('rate(ingest_events_typo_total[1m])').every(isKnownMetric), 'an unknown metric is caught')
})

t.test('prometheus.yml passes promtool check config as shipped, run in the repository', { skip: noPromtool }, async t => {
  // Exactly as a reader of the repository would run it: relative path, repository root.
  const result = spawnSync('promtool', ['check', 'config', 'prometheus.yml'], { cwd: ROOT, encoding: 'utf8' })
  const output = `${result.stdout}${result.stderr}`
  t.equal(result.status, 0, `promtool check config prometheus.yml succeeds:\n${output}`)
  t.match(output, /SUCCESS: 13 rules found/, 'the alert rules are found where the config points')
})

t.test('prometheus.yml passes promtool check config in the layout the container mounts', { skip: noPromtool }, async t => {
  const root = await tempDir(t, 'prometheus-root-')
  // Every file where compose binds it, under a scratch root.
  for (const [source, target] of Object.entries(MOUNTED_AT)) {
    await mkdir(dirname(join(root, target)), { recursive: true })
    await copyFile(file(source), join(root, target))
  }
  const { code, output } = promtool('check', 'config', join(root, MOUNTED_AT['prometheus.yml']))
  t.equal(code, 0, `promtool check config succeeds:\n${output}`)
  t.match(output, /SUCCESS: 13 rules found/, 'the alert rules are found where the config points')
})

t.test('prometheus.yml scrapes every replica of the compose services app, ingest and writer, and HAProxy', async t => {
  const config = parse(await readFile(file('prometheus.yml'), 'utf8')) as {
    global?: { scrape_interval?: string }
    rule_files?: string[]
    scrape_configs?: Array<{
      job_name?: string
      metrics_path?: string
      static_configs?: Array<{ targets?: string[] }>
      dns_sd_configs?: Array<{ names?: string[], type?: string, port?: number }>
      relabel_configs?: Array<{ source_labels?: string[], target_label?: string, action?: string }>
    }>
  }
  t.equal(config.global?.scrape_interval, '5s', 'scraped every 5 s')
  const ruleFiles = (config.rule_files ?? []).map(path => path.startsWith('/') ? path : join('/etc/prometheus', path))
  t.same(ruleFiles, [MOUNTED_AT['prometheus/alerts.yml']], 'the rules are read where compose mounts them')
  const jobs = config.scrape_configs ?? []
  t.same(jobs.map(job => job.job_name), ['metrics-ingest', 'haproxy'], 'the service\'s job, named as the alerts and the dashboard select it, and HAProxy\'s')
  const [service, lb] = jobs
  t.equal(service?.metrics_path ?? '/metrics', '/metrics', 'scrapes /metrics')
  t.notOk(service?.static_configs, 'no fixed target: that would be whichever replica DNS or the LB picks')
  t.same(service?.dns_sd_configs, [
    { names: ['app'], type: 'A', port: 8080, refresh_interval: '5s' },
    { names: ['ingest', 'writer'], type: 'A', port: 8080, refresh_interval: '5s' }
  ], 'every A record of the compose service app, and of ingest and writer (profile stream), each its own instance')
  t.match(service?.relabel_configs, [{ source_labels: ['__meta_dns_name'], target_label: 'service' }],
    'labelled with the compose service each target belongs to, as the dashboard\'s stream panels split by it')
  t.notOk(service?.relabel_configs?.some(rule => rule.action === 'drop' || rule.action === 'keep'), 'no target dropped')
  t.same(lb?.static_configs?.flatMap(c => c.targets), ['lb:8404'], 'HAProxy\'s Prometheus endpoint (deploy/haproxy.cfg, frontend stats)')
})

t.test('prometheus/alerts.yml passes promtool check rules', { skip: noPromtool }, async t => {
  const { code, output } = promtool('check', 'rules', file('prometheus/alerts.yml'))
  t.equal(code, 0, `promtool check rules succeeds:\n${output}`)
  t.match(output, /SUCCESS: 13 rules found/, 'thirteen rules')
})

t.test('every alert waits, has a severity and explains itself', async t => {
  const rules = parse(await readFile(file('prometheus/alerts.yml'), 'utf8')) as {
    groups: Array<{ rules: Array<{ alert?: string, for?: string, labels?: Record<string, string>, annotations?: Record<string, string> }> }>
  }
  const alerts = rules.groups.flatMap(group => group.rules)
  t.same(alerts.map(rule => rule.alert).sort(), [
    'IngestBufferNearlyFull', 'IngestDown', 'IngestFlushErrors', 'IngestHighLatency', 'IngestNoReplicaInPool', 'IngestNotReady',
    'IngestRejectingBufferFull', 'IngestStorageMaintenanceFailing', 'IngestStreamFillHigh', 'IngestStreamPublishFailing',
    'IngestStreamRedeliveries', 'IngestStreamWritersLagging', 'IngestStreamWritersStalled'
  ], 'the alerts of the observability issue, storage upkeep, the load balancer and the stream')
  for (const rule of alerts) {
    t.type(rule.for, 'string', `${rule.alert} states its for:`)
    t.match(rule.labels?.severity, /^(warning|critical)$/, `${rule.alert} has a severity`)
    t.ok((rule.annotations?.summary?.length ?? 0) > 0, `${rule.alert} has a summary`)
    t.ok((rule.annotations?.description?.length ?? 0) > 80, `${rule.alert} has a description saying what to do`)
  }
})

t.test('prometheus/alerts.test.yml: the alert rules behave as specified', { skip: noPromtool }, async t => {
  const { code, output } = promtool('test', 'rules', file('prometheus/alerts.test.yml'))
  t.equal(code, 0, `promtool test rules succeeds:\n${output}`)
  t.match(output, /SUCCESS/, 'every rule test passes')
})

t.test('every alert has a unit test that sees it fire', async t => {
  const rules = parse(await readFile(file('prometheus/alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string }> }> }
  const tests = parse(await readFile(file('prometheus/alerts.test.yml'), 'utf8')) as {
    tests: Array<{ alert_rule_test?: Array<{ alertname?: string, exp_alerts?: unknown[] }> }>
  }
  const firing = new Set(tests.tests.flatMap(test => test.alert_rule_test ?? []).filter(check => (check.exp_alerts ?? []).length > 0).map(check => check.alertname))
  for (const alert of rules.groups.flatMap(group => group.rules).map(rule => rule.alert)) {
    if (alert === undefined) continue
    t.ok(firing.has(alert), `${alert}: a test expects it to fire`)
  }
})

t.test('every dashboard query parses as PromQL', { skip: noPromtool }, async t => {
  const queries = dashboardQueries(await readDashboard())
  t.ok(queries.length >= 10, `${queries.length} queries found`)
  const rules = queries.map(({ panel, refId, expr }, i) => {
    const promql = expr.replace(GRAFANA_MACROS, '1m')
    t.notMatch(promql, /\$/, `panel ${panel} ${refId} uses no variable this test does not know`)
    return { record: `dashboard:query_${i}`, expr: promql }
  })
  const dir = await tempDir(t, 'dashboard-rules-')
  const path = join(dir, 'dashboard-rules.yml')
  await writeFile(path, stringify({ groups: [{ name: 'dashboard', rules }] }))
  const { code, output } = promtool('check', 'rules', path)
  t.equal(code, 0, `promtool check rules parses every query:\n${output}`)
  t.match(output, `SUCCESS: ${rules.length} rules found`, 'all of them')
})

t.test('every dashboard query selects metrics the service exports', async t => {
  const dashboard = await readDashboard()
  const panels = allPanels(dashboard).filter(panel => panel.type !== 'row')
  for (const panel of panels) t.ok((panel.targets ?? []).length > 0, `panel "${panel.title ?? ''}" has a query`)
  const used = new Set<string>()
  for (const { panel, refId, expr } of dashboardQueries(dashboard)) {
    const names = metricNames(expr)
    t.ok(names.length > 0, `panel ${panel} ${refId} selects a metric`)
    t.same(names.filter(name => !isKnownMetric(name)), [], `panel ${panel} ${refId} selects only exported metrics: ${expr}`)
    for (const name of names) used.add(name)
  }
  for (const name of [
    'http_request_duration_seconds_count', 'http_request_duration_seconds_bucket', 'ingest_events_committed_total',
    'ingest_buffer_events', 'ingest_buffer_capacity_events', 'ingest_flush_rows_bucket', 'ingest_flush_duration_seconds_bucket',
    'ingest_flushes_total', 'ingest_events_rejected_total', 'ingest_database_errors_total',
    'nodejs_eventloop_lag_p99_seconds', 'process_resident_memory_bytes',
    // ACK_MODE=stream
    'ingest_stream_publish_duration_seconds_bucket', 'ingest_stream_publish_duration_seconds_count',
    'ingest_stream_messages', 'ingest_stream_limit_messages', 'ingest_stream_bytes', 'ingest_stream_limit_bytes',
    'ingest_stream_consumer_pending_messages', 'ingest_stream_consumer_ack_pending_messages',
    'ingest_stream_redeliveries_total', 'ingest_stream_messages_settled_total', 'ingest_event_commit_latency_seconds_bucket'
  ]) t.ok(used.has(name), `the dashboard charts ${name}`)
})

t.test('the dashboard\'s stream row charts the stream, below every other row', async t => {
  const dashboard = await readDashboard()
  const panels = dashboard.panels ?? []
  const row = panels.findIndex(panel => panel.type === 'row' && panel.title === 'Stream (ACK_MODE=stream)')
  t.ok(row >= 0, 'a row "Stream (ACK_MODE=stream)"')
  const next = panels.findIndex((panel, i) => i > row && panel.type === 'row')
  const inRow = panels.slice(row + 1, next < 0 ? undefined : next)
  const titles = inRow.map(panel => panel.title ?? '')
  t.same(titles, [
    'Stream publish latency by outcome', 'Stream publishes/s by outcome', 'Stream messages vs limit', 'Stream bytes vs limit',
    'Consumer lag', 'Redeliveries and settlements/s', 'Writer batch size', 'End-to-end commit latency p99'
  ], 'its panels')
  const exprs = (title: string): string => inRow.find(panel => panel.title === title)?.targets?.map(target => target.expr).join('\n') ?? ''
  t.match(exprs('Stream publish latency by outcome'), /histogram_quantile\(0\.5,[^\n]*by \(outcome, le\)/, 'publish p50 by outcome')
  t.match(exprs('Stream publish latency by outcome'), /histogram_quantile\(0\.99,[^\n]*by \(outcome, le\)/, 'publish p99 by outcome')
  t.match(exprs('Stream messages vs limit'), /ingest_stream_limit_messages/, 'messages against their limit')
  t.match(exprs('Stream bytes vs limit'), /ingest_stream_limit_bytes/, 'bytes against their limit')
  t.match(exprs('Consumer lag'), /ingest_stream_consumer_pending_messages[\s\S]*ingest_stream_consumer_ack_pending_messages/, 'pending and ack pending')
  t.match(exprs('Writer batch size'), /ingest_flush_rows_bucket/, 'rows per flush')
  t.match(exprs('End-to-end commit latency p99'), /histogram_quantile\(0\.99,[^\n]*ingest_event_commit_latency_seconds_bucket/, 'receipt to commit, p99')
})

t.test('every alert expression selects metrics the service exports', async t => {
  const rules = parse(await readFile(file('prometheus/alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string, expr: string }> }> }
  for (const rule of rules.groups.flatMap(group => group.rules)) {
    const names = metricNames(rule.expr)
    t.ok(names.length > 0, `${rule.alert} selects a metric`)
    t.same(names.filter(name => !isKnownMetric(name)), [], `${rule.alert} selects only exported metrics`)
  }
})

t.test('grafana provisioning: the datasource the dashboard uses, and the folder compose mounts', async t => {
  const datasources = parse(await readFile(file('grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as {
    apiVersion?: number
    datasources?: Array<{ uid?: string, type?: string, url?: string, isDefault?: boolean }>
  }
  t.equal(datasources.apiVersion, 1, 'datasource provisioning apiVersion 1')
  t.match(datasources.datasources, [{ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090', isDefault: true }],
    'the default datasource is the compose stack\'s Prometheus')
  const uids = new Set((datasources.datasources ?? []).map(ds => ds.uid))

  const providers = parse(await readFile(file('grafana/provisioning/dashboards/dashboards.yml'), 'utf8')) as {
    apiVersion?: number
    providers?: Array<{ type?: string, options?: { path?: string } }>
  }
  t.equal(providers.apiVersion, 1, 'dashboard provisioning apiVersion 1')
  t.match(providers.providers, [{ type: 'file', options: { path: DASHBOARDS_DIR } }],
    'a file provider reading the folder compose mounts ./grafana/dashboards at')

  const dashboard = await readDashboard()
  t.equal(dashboard.uid, 'metrics-ingest', 'dashboard uid')
  t.ok((dashboard.schemaVersion ?? 0) >= 36, `schemaVersion ${dashboard.schemaVersion ?? '?'} is one current Grafana reads as is`)
  const panels = allPanels(dashboard)
  t.equal(new Set(panels.map(panel => panel.id)).size, panels.length, 'panel ids are unique')
  const used = panels.flatMap(panel => [panel.datasource?.uid, ...(panel.targets ?? []).map(target => target.datasource?.uid)])
    .filter((uid): uid is string => uid !== undefined)
  t.ok(used.length > 0, 'panels name their datasource')
  t.same([...new Set(used)].filter(uid => !uids.has(uid)), [], 'every datasource uid the dashboard uses is provisioned')
})

// The compose stack's mounts must be the ones the files above are written for.
t.test('the compose stack mounts the files where they are expected', async t => {
  const compose = parse(await readFile(file('docker-compose.yaml'), 'utf8')) as {
    services?: Record<string, { volumes?: Array<string | { source?: string, target?: string }> }>
  }
  const mounts = Object.values(compose.services ?? {}).flatMap(service => service.volumes ?? []).map(volume => {
    const [source = '', target = ''] = typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target]
    return { source: source.replace(/^\.\//, '').replace(/\/$/, ''), target: target.replace(/\/$/, '') }
  })
  // A file is in the container where a mount of it, or of a folder holding it, puts it.
  const inContainer = (path: string): string[] => mounts.flatMap(({ source, target }) => {
    if (path === source) return [target]
    return path.startsWith(`${source}/`) ? [`${target}${path.slice(source.length)}`] : []
  })
  for (const [path, expected] of Object.entries(MOUNTED_AT)) {
    t.ok(inContainer(path).includes(expected), `${path} is mounted at ${expected} (found: ${inContainer(path).join(', ') || 'nowhere'})`)
  }
})
