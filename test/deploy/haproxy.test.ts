/**
 * deploy/haproxy.cfg, the load balancer compose runs in front of the replicas: valid for HAProxy
 * itself, holding the contract docs/deployment.md states, and exporting every HAProxy metric the
 * alerts and the dashboard use. The replicas behind a real HAProxy under faults: the fault
 * suite's replicas scenario (test/faults).
 */
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { freePort } from '../../harness/free-port.js'
import { HAPROXY_CONFIG, HaproxyProcess } from '../../harness/haproxy-process.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const hasHaproxy = spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).error === undefined
const skip = hasHaproxy ? false : 'haproxy is not on PATH (.ci/run installs it)'
const config = await readFile(HAPROXY_CONFIG, 'utf8')
/** The config without its comments, one directive a line. */
const directives = config.split('\n').map(line => line.replace(/#.*$/, '').trim()).filter(line => line !== '')

t.test('haproxy -c accepts the shipped config', { skip }, async t => {
  const result = spawnSync('haproxy', ['-c', '-f', HAPROXY_CONFIG], { encoding: 'utf8' })
  t.equal(result.status, 0, `haproxy -c exits 0:\n${result.stdout}${result.stderr}`)
  t.match(result.stdout, /Configuration file is valid/)
})

t.test('the load-balancing contract', async t => {
  t.ok(directives.includes('bind :855'), 'clients connect on 855, the origin\'s port')
  t.ok(directives.includes('balance leastconn'), 'leastconn: a slow replica gets fewer requests')
  t.ok(directives.includes('option httpchk GET /readyz'), 'health by GET /readyz')
  t.ok(directives.includes('http-check expect status 200'), 'only a 200 is healthy')
  t.match(config, /default-server inter 1s fall 2 rise 2/, 'checked every second, out after 2 failures (~2 s), back after 2 passes')
  const retryOn = directives.find(line => line.startsWith('retry-on '))?.split(/\s+/).slice(1) ?? []
  t.same(retryOn.sort(), ['503', 'conn-failure'], 'retried only where nothing was stored: no connection, or our 503')
  t.notOk(directives.some(line => /on-marked-down\s+shutdown-sessions/.test(line)), 'in-flight requests are not cut when a replica is marked down')
  t.ok(directives.includes('tcp-request connection track-sc0 src'), 'connections tracked per source')
  t.match(config, /tcp-request connection reject if \{ sc_conn_cur\(0\) gt \d+ \}/, 'and capped per source')
  t.ok(directives.includes('http-request use-service prometheus-exporter if { path /metrics }'), 'HAProxy\'s own metrics for Prometheus')
  t.match(config, /server-template app \d+ app:8080 check resolvers docker/, 'the replicas of the compose service app, from Docker\'s DNS')
})

t.test('every HAProxy metric the alerts and the dashboard use is one HAProxy exports', { skip }, async t => {
  // A replica address where nothing listens: HAProxy starts, marks it down, and exports its metrics.
  const haproxy = await HaproxyProcess.start({ servers: [`127.0.0.1:${await freePort()}`], port: await freePort(), statsPort: await freePort() })
  t.teardown(() => haproxy.stop())
  const exported = new Set([...(await haproxy.metrics()).matchAll(/^(haproxy_\w+)/gm)].map(([, name]) => name))
  const sources = await Promise.all(['prometheus/alerts.yml', 'grafana/dashboards/metrics-ingest.json'].map(async file => await readFile(`${ROOT}${file}`, 'utf8')))
  const used = new Set(sources.flatMap(source => [...source.matchAll(/\bhaproxy_\w+/g)].map(([name]) => name)))
  t.ok(used.size >= 3, `${used.size} HAProxy metrics used: ${[...used].join(', ')}`)
  t.same([...used].filter(name => !exported.has(name)), [], 'each is in HAProxy\'s /metrics')
  t.equal(await haproxy.activeServers(), 0, 'a replica that is not there is not in the pool')
})
