/**
 * docker-compose.yaml, checked without a Docker engine: docker-compose validates it, then these
 * tests hold the wiring a broken deploy would get wrong (ports, health-gated start-up, where
 * PostgreSQL keeps its files, a stop grace period longer than the drain, mounts that exist, and
 * Prometheus and Grafana pointed at the right service names), and the profile `stream`: ACK_MODE=
 * stream as an ingest process and writers around a three-node NATS JetStream cluster.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { isAbsolute, join, normalize, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse } from 'yaml'
import { loadConfig } from '../../src/config.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const COMPOSE_FILE = 'docker-compose.yaml'

/** The service's own default (src/config.ts), used when compose does not set it. */
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000
const DEFAULT_APP_PORT = 8080
/** The profile that adds stream mode, and the ports of the official nats image's servers. */
const STREAM_PROFILE = 'stream'
const NATS_CLIENT_PORT = 4222
const NATS_MONITOR_PORT = 8222
/**
 * The oldest nats-server the stream may run on: 2.9 fsyncs only every 60 s, and discard-new
 * accounting (a full stream refusing publishes) was fixed in 2.10.5 and 2.10.6.
 */
const MIN_NATS_VERSION = [2, 10, 6] as const
/** What the stream and its consumer are created with: the ingest and the writers must agree. */
const STREAM_DEFINING_SETTINGS = [
  'STREAM_NAME', 'STREAM_REPLICAS', 'STREAM_MAX_BYTES', 'STREAM_MAX_MESSAGES', 'STREAM_DUPLICATE_WINDOW_SECONDS',
  'WRITER_ACK_WAIT_SECONDS', 'BODY_LIMIT_BYTES'
] as const

interface Service {
  profiles?: string[]
  image?: string
  build?: unknown
  command?: string | string[]
  init?: boolean
  environment?: Record<string, string | number | boolean | null> | string[]
  depends_on?: string[] | Record<string, { condition?: string }>
  ports?: Array<string | number | { published?: string | number, target?: number }>
  volumes?: Array<string | { type?: string, source?: string, target?: string }>
  healthcheck?: { test?: string | string[], disable?: boolean }
  restart?: string
  stop_grace_period?: string
  deploy?: { replicas?: number | string }
  sysctls?: Record<string, string | number>
}

interface Compose {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}

/** Every `${NAME:-default}` as its default, `$$` as `$`: the stack when nothing is configured. */
function withDefaults<T> (value: T): T {
  if (typeof value === 'string') {
    return value.replace(/\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)/g,
      (whole, _name, operator: string | undefined, fallback: string | undefined) =>
        whole === '$$' ? '$' : operator?.endsWith('-') === true ? fallback ?? '' : '') as T
  }
  if (Array.isArray(value)) return value.map(withDefaults) as T
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withDefaults(item)])) as T
  }
  return value
}

function environment (service: Service): Record<string, string> {
  const env = service.environment ?? {}
  if (Array.isArray(env)) return Object.fromEntries(env.map(pair => pair.split(/=(.*)/s).slice(0, 2)))
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value ?? '')]))
}

function dependsOn (service: Service): Record<string, string> {
  const deps = service.depends_on ?? []
  if (Array.isArray(deps)) return Object.fromEntries(deps.map(name => [name, 'service_started']))
  return Object.fromEntries(Object.entries(deps).map(([name, { condition }]) => [name, condition ?? 'service_started']))
}

/** Short syntax `[ip:]published:target[/proto]` and the long syntax alike. */
function ports (service: Service): Array<{ published: number, target: number }> {
  return (service.ports ?? []).map(port => {
    if (typeof port === 'object') return { published: Number(port.published), target: Number(port.target) }
    const parts = String(port).replace(/\/\w+$/, '').split(':')
    return { published: Number(parts.at(-2)), target: Number(parts.at(-1)) }
  })
}

interface Mount { source: string, target: string, bind: boolean }

function mounts (service: Service): Mount[] {
  return (service.volumes ?? []).map(volume => {
    if (typeof volume === 'object') {
      return { source: volume.source ?? '', target: volume.target ?? '', bind: volume.type === 'bind' }
    }
    const [source = '', target = ''] = volume.split(':')
    return { source, target, bind: /^[./~]/.test(source) }
  })
}

/** Compose durations: 15s, 1m30s, 1500ms. */
function durationMs (duration: string): number {
  const units: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  let total = 0
  for (const [, amount, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(us|ms|s|m|h)/g)) total += Number(amount) * units[unit!]!
  return total
}

function healthcheck (service: Service): string {
  const test = service.healthcheck?.test
  return Array.isArray(test) ? test.join(' ') : test ?? ''
}

function yamlFiles (dir: string): unknown[] {
  return readdirSync(dir).filter(name => /\.ya?ml$/.test(name)).map(name => parse(readFileSync(join(dir, name), 'utf8')) as unknown)
}

/** The command's words, whether compose has it as a string or a list, `sh -c` scripts split too. */
function commandWords (service: Service): string[] {
  return [service.command ?? []].flat().join(' ').split(/\s+/).filter(word => word !== '')
}

/** The value after the first of `flags` in `words`. */
function flagValue (words: string[], ...flags: string[]): string | undefined {
  const at = words.findIndex(word => flags.includes(word))
  return at < 0 ? undefined : words[at + 1]
}

/** `nats:2.10.29-alpine` → [2, 10, 29]; undefined for a tag that does not name a full version. */
function natsVersion (image: string): number[] | undefined {
  const match = /^nats:v?(\d+)\.(\d+)\.(\d+)(?:-[\w.-]+)?$/.exec(image)
  return match === null ? undefined : match.slice(1, 4).map(Number)
}

function atLeast (version: readonly number[], minimum: readonly number[]): boolean {
  for (let i = 0; i < minimum.length; i++) {
    if ((version[i] ?? 0) !== minimum[i]) return (version[i] ?? 0) > minimum[i]!
  }
  return true
}

const compose = withDefaults(parse(readFileSync(join(ROOT, COMPOSE_FILE), 'utf8')) as Compose)
const { db, app, lb, prometheus, grafana, ingest, writer } = compose.services
/** What `docker compose up` starts without --profile. */
const defaultServices = Object.fromEntries(Object.entries(compose.services).filter(([, service]) => (service.profiles ?? []).length === 0))
const streamServices = Object.fromEntries(Object.entries(compose.services).filter(([, service]) => service.profiles?.includes(STREAM_PROFILE) === true))
const natsNodes = Object.entries(streamServices).filter(([, service]) => service.image?.startsWith('nats:') === true)
const hasDockerCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).error === undefined

t.test('docker-compose accepts the file, with and without the stream profile', { skip: hasDockerCompose ? false : 'docker-compose is not on PATH (.ci/run installs it)' }, async t => {
  for (const profile of [[], ['--profile', STREAM_PROFILE]]) {
    const result = spawnSync('docker-compose', ['-f', COMPOSE_FILE, ...profile, 'config', '-q'], { cwd: ROOT, encoding: 'utf8' })
    const name = `docker-compose ${[...profile, 'config', '-q'].join(' ')}`
    t.equal(result.status, 0, `${name} exits 0${result.stderr === '' ? '' : `: ${result.stderr}`}`)
    t.notMatch(result.stderr, /variable is not set/, `${name}: every variable has a default`)
  }
})

t.test('the five services, and the stream profile\'s apart', async t => {
  t.same(Object.keys(defaultServices).sort(), ['app', 'db', 'grafana', 'lb', 'prometheus'], 'without a profile: app, db, lb, prometheus, grafana')
  t.same(Object.keys(streamServices).sort(), ['ingest', 'nats-1', 'nats-2', 'nats-3', 'writer'], 'with --profile stream: ingest, writer and three NATS nodes')
  t.same(Object.keys(compose.services).sort(), [...Object.keys(defaultServices), ...Object.keys(streamServices)].sort(), 'no service in another profile')
  t.ok(app?.build, 'app is built from this repository')
  for (const [name, service] of Object.entries(compose.services)) {
    if (service.image === undefined) continue
    t.match(service.image, /^[\w./-]+:(?!latest$)[\w.-]+$/, `${name}: ${service.image} is pinned to a tag, not latest`)
    t.ok(['always', 'unless-stopped', 'on-failure'].includes(service.restart ?? ''), `${name}: restarts after a crash or reboot (${service.restart})`)
  }
})

t.test('app: APP_REPLICAS replicas behind lb, health-gated on the database, stopped gracefully', async t => {
  const env = environment(app!)
  t.equal(Number(app!.deploy?.replicas), 2, 'two replicas by default (APP_REPLICAS)')
  t.match(readFileSync(join(ROOT, COMPOSE_FILE), 'utf8'), /replicas: \$\{APP_REPLICAS:-2\}/, 'APP_REPLICAS sets the count')
  t.notOk(app!.ports, 'replicas are not published: one host port cannot go to N containers; lb is the way in')
  t.equal(app!.init, true, 'init: true, so tini forwards SIGTERM and reaps zombies')
  t.equal(dependsOn(app!).db, 'service_healthy', 'starts once the database answers, not merely once its container runs')
  t.notOk(app!.healthcheck?.disable, 'app health check enabled')
  t.match(healthcheck(app!), /\/(healthz|readyz)\b/, 'app has a health check on /healthz or /readyz')

  const shutdownMs = Number(env.SHUTDOWN_TIMEOUT_MS ?? DEFAULT_SHUTDOWN_TIMEOUT_MS)
  const graceMs = durationMs(app!.stop_grace_period ?? '10s')
  t.ok(graceMs > shutdownMs, `stop_grace_period ${graceMs} ms > SHUTDOWN_TIMEOUT_MS ${shutdownMs} ms: the drain ends before SIGKILL`)
  for (const key of ['ACK_MODE', 'LOG_LEVEL', 'SHUTDOWN_TIMEOUT_MS']) t.ok(env[key], `${key} is passed through (${env[key]})`)
})

t.test('lb: HAProxy on 855 with the repository\'s config, in front of app', async t => {
  t.match(lb!.image ?? '', /^haproxy:\d+\.\d+/, 'the official haproxy image, pinned to a minor')
  t.ok(ports(lb!).some(p => p.published === 855 && p.target === 855), 'publishes 855, the origin\'s http://localhost:855')
  t.ok(ports(lb!).some(p => p.published === 8404 && p.target === 8404), 'and its stats and metrics on 8404')
  const config = mounts(lb!).find(m => m.target === '/usr/local/etc/haproxy/haproxy.cfg')
  t.equal(config?.source, './deploy/haproxy.cfg', 'deploy/haproxy.cfg is mounted where the image reads its config')
  const cfg = readFileSync(join(ROOT, 'deploy/haproxy.cfg'), 'utf8')
  const appPort = Number(environment(app!).PORT ?? DEFAULT_APP_PORT)
  t.match(cfg, new RegExp(`server-template app \\d+ app:${appPort} `), `its servers are the app service's replicas on ${appPort}`)
  t.ok('app' in dependsOn(lb!), 'starts after app')
  t.equal(Number(lb!.sysctls?.['net.ipv4.ip_unprivileged_port_start']), 0, 'the image\'s unprivileged user may bind 855')
})

t.test('app reaches the database the db service creates', async t => {
  const env = environment(app!)
  t.ok(env.DATABASE_URL, 'DATABASE_URL is always set: the image has no embedded PostgreSQL')
  const url = new URL(env.DATABASE_URL ?? 'invalid:')
  const dbEnv = environment(db!)
  t.equal(url.protocol, 'postgres:', 'a postgres:// URL')
  t.equal(url.hostname, 'db', 'the db service, by its compose name')
  t.equal(url.port, '5432', 'on PostgreSQL\'s port')
  t.equal(decodeURIComponent(url.username), dbEnv.POSTGRES_USER, 'as the user db creates')
  t.equal(decodeURIComponent(url.password), dbEnv.POSTGRES_PASSWORD, 'with its password')
  t.equal(url.pathname, `/${dbEnv.POSTGRES_DB}`, 'in the database db creates')
})

t.test('db: PostgreSQL with its files on the host, and a readiness check', async t => {
  t.match(db!.image ?? '', /^postgres:\d+/, 'the official postgres image, pinned to a major')
  const data = mounts(db!).find(m => m.target === '/var/lib/postgresql/data')
  t.ok(data, 'a volume at /var/lib/postgresql/data')
  if (data?.bind === true) {
    t.match(normalize(data.source), /^\.data\//, `bind mount ${data.source} is under .data/, which git and the build context ignore`)
  } else {
    t.ok(compose.volumes && data !== undefined && data.source in compose.volumes, `named volume ${data?.source} is declared`)
  }
  t.notOk(db!.healthcheck?.disable, 'db health check enabled')
  t.match(healthcheck(db!), /\bpg_isready\b.*-U\s+\S+.*-d\s+\S+/, 'pg_isready for the configured user and database')
  t.notOk(db!.ports, 'PostgreSQL is not published on the host')
})

t.test('every host path a service mounts exists, or is data under .data/', async t => {
  let count = 0
  for (const [name, service] of Object.entries(compose.services)) {
    for (const mount of mounts(service).filter(m => m.bind)) {
      count++
      t.notOk(isAbsolute(mount.source), `${name}: ${mount.source} is relative to the repository, so the stack runs from any checkout`)
      const relative = normalize(mount.source)
      if (relative.startsWith('.data/')) continue
      const path = join(ROOT, relative)
      t.ok(existsSync(path), `${name}: ${mount.source} exists`)
      // Docker creates a missing source as a directory, which would shadow a config file.
      const isFile = posix.extname(mount.target) !== ''
      t.equal(existsSync(path) && statSync(path).isFile(), isFile, `${name}: ${mount.source} is a ${isFile ? 'file' : 'directory'} like ${mount.target}`)
    }
  }
  t.ok(count >= 5, `${count} bind mounts checked`)
})

t.test('prometheus scrapes the app and loads the alerts compose mounts', async t => {
  t.ok(ports(prometheus!).some(p => p.published === 9090 && p.target === 9090), 'Prometheus on http://localhost:9090')
  t.same(Object.keys(dependsOn(prometheus!)).sort(), ['app', 'lb'], 'starts after app and lb')
  const args = [prometheus!.command ?? []].flat()
  const configFile = args.find(arg => arg.startsWith('--config.file='))?.split('=')[1] ?? '/etc/prometheus/prometheus.yml'
  const configMount = mounts(prometheus!).find(m => m.target === configFile)
  t.ok(configMount, `${configFile} (the config Prometheus reads) is mounted`)
  const config = parse(readFileSync(join(ROOT, configMount?.source ?? 'prometheus.yml'), 'utf8')) as {
    rule_files?: string[]
    scrape_configs?: Array<{ static_configs?: Array<{ targets?: string[] }>, dns_sd_configs?: Array<{ names?: string[], port?: number }> }>
  }
  const discovered = (config.scrape_configs ?? []).flatMap(job => job.dns_sd_configs ?? []).flatMap(sd => (sd.names ?? []).map(name => `${name}:${sd.port}`))
  const appPort = Number(environment(app!).PORT ?? DEFAULT_APP_PORT)
  t.ok(discovered.includes(`app:${appPort}`), `scrapes every replica of app on ${appPort}, found by the service's name in Docker's DNS`)
  for (const [name, service] of Object.entries({ ingest, writer })) {
    const port = Number(environment(service!).PORT ?? DEFAULT_APP_PORT)
    t.ok(discovered.includes(`${name}:${port}`), `and of ${name} (profile stream) on ${port}`)
  }
  const targets = (config.scrape_configs ?? []).flatMap(job => job.static_configs ?? []).flatMap(group => group.targets ?? [])
  t.ok(targets.includes('lb:8404'), 'and HAProxy\'s metrics on lb:8404')
  const mounted = new Set(mounts(prometheus!).map(m => m.target))
  for (const rule of config.rule_files ?? []) {
    const path = posix.resolve(posix.dirname(configFile), rule)
    t.ok(mounted.has(path), `rule file ${rule} (${path}) is mounted`)
  }
  t.ok((config.rule_files ?? []).length > 0, 'loads at least one rule file')
})

t.test('grafana: anonymous viewers, the Prometheus datasource and the dashboards compose mounts', async t => {
  const env = environment(grafana!)
  t.ok(ports(grafana!).some(p => p.published === 3000 && p.target === 3000), 'Grafana on http://localhost:3000')
  t.equal(env.GF_AUTH_ANONYMOUS_ENABLED, 'true', 'anonymous access on')
  t.equal(env.GF_AUTH_ANONYMOUS_ORG_ROLE, 'Viewer', 'read-only for anonymous users')
  t.same(Object.keys(dependsOn(grafana!)), ['prometheus'], 'starts after prometheus')

  const provisioning = mounts(grafana!).find(m => m.target === '/etc/grafana/provisioning')
  t.ok(provisioning, 'provisioning is mounted where Grafana reads it')
  const provisioningDir = join(ROOT, provisioning?.source ?? 'grafana/provisioning')
  const datasources = yamlFiles(join(provisioningDir, 'datasources')) as Array<{ datasources?: Array<{ type?: string, url?: string }> }>
  const urls = datasources.flatMap(file => file.datasources ?? []).filter(source => source.type === 'prometheus').map(source => source.url)
  t.ok(urls.includes('http://prometheus:9090'), 'the Prometheus datasource is http://prometheus:9090, the service inside the network')

  const providers = yamlFiles(join(provisioningDir, 'dashboards')) as Array<{ providers?: Array<{ options?: { path?: string } }> }>
  const paths = providers.flatMap(file => file.providers ?? []).map(provider => provider.options?.path)
  const dashboards = mounts(grafana!).find(m => paths.includes(m.target))
  t.ok(dashboards, `a dashboard provider reads a mounted directory (${paths.join(', ')})`)
  const files = readdirSync(join(ROOT, dashboards?.source ?? 'grafana/dashboards')).filter(name => name.endsWith('.json'))
  t.ok(files.length > 0, `dashboards to load: ${files.join(', ')}`)
})

t.test('stream profile: three NATS servers in one JetStream cluster, each with its own store', async t => {
  t.equal(natsNodes.length, 3, `three nats-server nodes (${natsNodes.map(([name]) => name).join(', ')}): a stream of 3 replicas survives one lost`)
  const nodeNames = natsNodes.map(([name]) => name)
  const clusterNames = new Set<string | undefined>()
  const serverNames = new Set<string | undefined>()
  const stores = new Set<string>()
  for (const [name, node] of natsNodes) {
    const image = node.image ?? ''
    const version = natsVersion(image)
    t.ok(version, `${name}: ${image} is the official nats image at a full version`)
    t.ok(version !== undefined && atLeast(version, MIN_NATS_VERSION), `${name}: ${image} is nats-server ${MIN_NATS_VERSION.join('.')} or later`)
    t.same(node.profiles, [STREAM_PROFILE], `${name} runs only with --profile stream`)

    const words = commandWords(node)
    t.ok(words.includes('-js') || words.includes('--jetstream'), `${name}: JetStream on`)
    const store = flagValue(words, '-sd', '--store_dir')
    const storeMount = mounts(node).find(m => m.target === store)
    t.ok(storeMount !== undefined && !storeMount.bind && compose.volumes !== undefined && storeMount.source in compose.volumes,
      `${name}: its store ${store ?? '(none)'} is a declared named volume (${storeMount?.source ?? 'not mounted'})`)
    if (storeMount !== undefined) stores.add(storeMount.source)
    const serverName = flagValue(words, '-n', '--name', '--server_name')
    t.equal(serverName, name, `${name}: server name ${serverName ?? '(none)'}, as JetStream clustering needs, the service's own`)
    serverNames.add(serverName)
    clusterNames.add(flagValue(words, '--cluster_name'))

    const listen = new URL(flagValue(words, '--cluster', '--cluster_listen') ?? 'invalid:')
    t.equal(listen.protocol, 'nats:', `${name}: listens for routes (--cluster nats://...)`)
    const routes = (flagValue(words, '--routes') ?? '').split(',').filter(route => route !== '').map(route => new URL(route))
    t.same(routes.map(route => route.hostname).sort(), [...nodeNames].sort(), `${name}: routes to every node of the cluster`)
    t.ok(routes.every(route => route.protocol === 'nats:' && route.port === listen.port), `${name}: on their cluster port ${listen.port}`)

    t.notOk(flagValue(words, '-p', '--port'), `${name}: clients on the default port ${NATS_CLIENT_PORT}`)
    t.equal(Number(flagValue(words, '-m', '--http_port')), NATS_MONITOR_PORT, `${name}: monitoring on ${NATS_MONITOR_PORT}, for its health check`)
    t.notOk(node.healthcheck?.disable, `${name}: health check enabled`)
    t.match(healthcheck(node), new RegExp(`:${NATS_MONITOR_PORT}/healthz\\b`), `${name}: health check on /healthz`)
    const maxPayload = /max_payload:\s*(\d+)\s*MB\b/i.exec(words.join(' '))
    const bodyLimit = loadConfig({}).BODY_LIMIT_BYTES
    t.ok(maxPayload !== null && Number(maxPayload[1]) * 1024 * 1024 >= bodyLimit,
      `${name}: max_payload ${maxPayload?.[1] ?? '(default 1)'} MB holds a request of BODY_LIMIT_BYTES (${bodyLimit}): one request is one message`)
    t.notOk(node.ports, `${name}: not published on the host`)
    t.ok(['always', 'unless-stopped', 'on-failure'].includes(node.restart ?? ''), `${name}: restarts after a crash or reboot`)
  }
  t.equal(serverNames.size, natsNodes.length, 'server names are unique')
  t.equal(clusterNames.size, 1, `one cluster name for all (${[...clusterNames].join(', ')})`)
  t.notOk(clusterNames.has(undefined), 'set explicitly (--cluster_name)')
  t.equal(stores.size, natsNodes.length, 'each node has a store of its own')
})

t.test('stream profile: ingest publishes to every NATS node and opens no database', async t => {
  const env = environment(ingest!)
  t.same(ingest!.profiles, [STREAM_PROFILE], 'runs only with --profile stream')
  t.same(ingest!.build, app!.build, 'the image app runs, built from this repository')
  t.equal(ingest!.init, true, 'init: true, so tini forwards SIGTERM')
  t.equal(env.ROLE, 'ingest', 'ROLE=ingest')
  t.equal(env.ACK_MODE, 'stream', 'ACK_MODE=stream')
  t.notOk('DATABASE_URL' in env, 'no DATABASE_URL: the ingest role never opens PostgreSQL')
  t.notOk('db' in dependsOn(ingest!), 'and does not wait for db')
  const port = Number(env.PORT ?? DEFAULT_APP_PORT)
  t.ok(ports(ingest!).some(p => p.published === 8081 && p.target === port), `clients reach it on http://localhost:8081 (its ${port})`)
  t.notOk(ingest!.deploy?.replicas !== undefined && Number(ingest!.deploy.replicas) !== 1, 'one process: one host port cannot go to several')
  t.match(healthcheck(ingest!), /\/(healthz|readyz)\b/, 'a health check on /healthz or /readyz')
  t.ok(durationMs(ingest!.stop_grace_period ?? '10s') > Number(env.SHUTDOWN_TIMEOUT_MS ?? DEFAULT_SHUTDOWN_TIMEOUT_MS),
    'stop_grace_period longer than SHUTDOWN_TIMEOUT_MS')
})

t.test('stream profile: writers write the stream into the db service', async t => {
  const env = environment(writer!)
  t.same(writer!.profiles, [STREAM_PROFILE], 'runs only with --profile stream')
  t.same(writer!.build, app!.build, 'the image app runs, built from this repository')
  t.equal(writer!.init, true, 'init: true, so tini forwards SIGTERM and the last batches are acked')
  t.equal(env.ROLE, 'writer', 'ROLE=writer')
  t.equal(env.ACK_MODE, 'stream', 'ACK_MODE=stream')
  t.equal(env.DATABASE_URL, environment(app!).DATABASE_URL, 'DATABASE_URL: the database app writes to, the db service')
  t.equal(dependsOn(writer!).db, 'service_healthy', 'starts once the database answers')
  t.notOk(writer!.ports, 'not published: a writer takes no requests')
  t.match(healthcheck(writer!), /\/(healthz|readyz)\b/, 'a health check on /healthz or /readyz')
  t.ok(durationMs(writer!.stop_grace_period ?? '10s') > Number(env.SHUTDOWN_TIMEOUT_MS ?? DEFAULT_SHUTDOWN_TIMEOUT_MS),
    'stop_grace_period longer than SHUTDOWN_TIMEOUT_MS: what it pulled is committed and acked first')
})

t.test('stream profile: ingest and writer share the stream: every node, 3 replicas, the same limits', async t => {
  const nodeNames = natsNodes.map(([name]) => name).sort()
  const envs = { ingest: environment(ingest!), writer: environment(writer!) }
  for (const [name, env] of Object.entries(envs)) {
    const servers = (env.NATS_URL ?? '').split(',').map(server => new URL(server))
    t.same(servers.map(server => server.hostname).sort(), nodeNames, `${name}: NATS_URL lists every node, so it fails over`)
    t.ok(servers.every(server => server.protocol === 'nats:' && Number(server.port || NATS_CLIENT_PORT) === NATS_CLIENT_PORT),
      `${name}: nats:// on the client port ${NATS_CLIENT_PORT}`)
    t.equal(Number(env.STREAM_REPLICAS), nodeNames.length, `${name}: STREAM_REPLICAS=${nodeNames.length}, one copy per node`)
    for (const node of nodeNames) t.equal(dependsOn(compose.services[name]!)[node], 'service_healthy', `${name}: starts once ${node} is healthy`)
    // The service's own validation, as the container would run it.
    t.doesNotThrow(() => loadConfig(env), `${name}: the configuration the service accepts`)
  }
  for (const key of STREAM_DEFINING_SETTINGS) {
    t.equal(envs.ingest[key], envs.writer[key], `${key} is the same for both (${envs.ingest[key] ?? 'the default'}): whichever starts last sets the stream to its own`)
  }
})

t.test('without the stream profile, nothing of stream mode runs', async t => {
  for (const [name, service] of Object.entries(defaultServices)) {
    t.notOk(service.image?.startsWith('nats:'), `${name} is not a NATS server`)
    const env = environment(service)
    t.notOk(env.ROLE, `${name} sets no ROLE`)
    t.notOk(env.NATS_URL, `${name} needs no NATS`)
    for (const other of Object.keys(streamServices)) t.notOk(other in dependsOn(service), `${name} does not depend on ${other}`)
  }
})
