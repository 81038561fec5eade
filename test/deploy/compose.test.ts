/**
 * docker-compose.yaml, checked without a Docker engine: docker-compose validates it, then these
 * tests hold the wiring a broken deploy would get wrong (ports, health-gated start-up, where
 * PostgreSQL keeps its files, a stop grace period longer than the drain, mounts that exist, and
 * Prometheus and Grafana pointed at the right service names).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { isAbsolute, join, normalize, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse } from 'yaml'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const COMPOSE_FILE = 'docker-compose.yaml'

/** The service's own default (src/config.ts), used when compose does not set it. */
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000
const DEFAULT_APP_PORT = 8080

interface Service {
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

const compose = withDefaults(parse(readFileSync(join(ROOT, COMPOSE_FILE), 'utf8')) as Compose)
const { db, app, lb, prometheus, grafana } = compose.services
const hasDockerCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).error === undefined

t.test('docker-compose accepts the file', { skip: hasDockerCompose ? false : 'docker-compose is not on PATH (.ci/run installs it)' }, async t => {
  const result = spawnSync('docker-compose', ['-f', COMPOSE_FILE, 'config', '-q'], { cwd: ROOT, encoding: 'utf8' })
  t.equal(result.status, 0, `docker-compose config -q exits 0${result.stderr === '' ? '' : `: ${result.stderr}`}`)
  t.notMatch(result.stderr, /variable is not set/, 'every variable has a default')
})

t.test('the five services', async t => {
  t.same(Object.keys(compose.services).sort(), ['app', 'db', 'grafana', 'lb', 'prometheus'], 'app, db, lb, prometheus, grafana')
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
