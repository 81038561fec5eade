import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import t from 'tap'
import { event } from './helpers/app.js'
import { freePort, testDatabase } from './helpers/database.js'
import { runServer, startServer } from './helpers/server-process.js'

t.test('a bad configuration exits non-zero with one message naming every bad key', async t => {
  const { code, stderr } = await runServer({ PORT: 'eighty', ACK_MODE: 'sometimes', FLUSH_CONCURRENCY: '0' })
  t.equal(code, 2)
  t.match(stderr, /invalid configuration/)
  for (const key of ['PORT', 'ACK_MODE', 'FLUSH_CONCURRENCY']) t.match(stderr, `env/${key}`)
  t.equal(stderr.trim().split('\n').length, 1, 'one line, no stack')
})

t.test('SIGTERM during load: exit 0, and every event acknowledged with 200 is in the database', async t => {
  const db = await testDatabase(t)
  const server = await startServer({ DATABASE_URL: db.url, SHUTDOWN_TIMEOUT_MS: '20000' })
  t.teardown(() => { server.child.kill('SIGKILL') })

  const acked: number[] = []
  const refused: number[] = []
  let next = 1
  let stop = false
  let sentTerm = false
  const worker = async (): Promise<void> => {
    while (!stop) {
      const session = next++
      try {
        const res = await fetch(`${server.address}/data`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(event({ user_id: (session % 97) + 1, session_id: session }))
        })
        await res.arrayBuffer()
        if (res.status === 200) acked.push(session)
        else if (res.status === 503) refused.push(session)
        else throw new Error(`unexpected ${res.status}`)
        if (!sentTerm && acked.length >= 500) {
          sentTerm = true
          server.child.kill('SIGTERM')
        }
      } catch (err) {
        // Once the listener is closed, connections are refused: the load is over.
        if (sentTerm) { stop = true } else throw err
      }
    }
  }
  const load = Promise.all(Array.from({ length: 32 }, worker))
  const { code, signal } = await server.exited
  stop = true
  await load
  t.equal(signal, null, 'not killed')
  t.equal(code, 0, 'exit 0')
  t.ok(sentTerm, 'SIGTERM was sent under load')
  t.ok(acked.length >= 500, `${acked.length} events acknowledged`)

  const stored = new Set((await db.sql`select session_id::int as s from user_metrics`).map(r => r.s as number))
  const lost = acked.filter(s => !stored.has(s))
  t.same(lost, [], 'no acknowledged event is missing')
  t.ok(server.lines.some(l => l.msg === 'shutdown complete'), 'the drain finished')
  t.same(server.lines.filter(l => Number(l.level) >= 50), [], 'nothing logged as an error')
})

t.test('no DATABASE_URL: serves on the embedded PostgreSQL, and the data survives a restart', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'server-embedded-'))
  await chmod(dir, 0o755)
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const pgPort = String(await freePort())
  const env = { DATABASE_URL: '', EMBEDDED_PG_DIR: join(dir, 'postgres'), EMBEDDED_PG_PORT: pgPort }
  const url = `postgres://postgres:postgres@127.0.0.1:${pgPort}/metrics`

  const first = await startServer(env, 60_000)
  t.teardown(() => { first.child.kill('SIGKILL') })
  t.ok(first.lines.some(l => /embedded PostgreSQL started/.test(String(l.msg))), 'says it started the embedded database')
  const res = await fetch(`${first.address}/data`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event()) })
  t.equal(res.status, 200)
  const sql = postgres(url, { max: 1 })
  t.same(await sql`select talked_time::text from user_metrics`, [{ talked_time: '00:02:00' }])
  await sql.end()
  first.child.kill('SIGTERM')
  t.match(await first.exited, { code: 0 }, 'clean exit, embedded database stopped')
  t.ok(first.lines.some(l => l.msg === 'embedded PostgreSQL stopped'))

  const second = await startServer(env, 60_000)
  t.teardown(() => { second.child.kill('SIGKILL') })
  const again = postgres(url, { max: 1 })
  t.same(await again`select talked_time::text from user_metrics`, [{ talked_time: '00:02:00' }], 'the row is still there after a restart')
  await again.end()

  // A crash leaves the embedded server running without its parent; the next start must cope.
  second.child.kill('SIGKILL')
  await second.exited
  const third = await startServer(env, 60_000)
  t.teardown(() => { third.child.kill('SIGKILL') })
  t.ok(third.lines.some(l => l.msg === 'an embedded PostgreSQL from an earlier run is still up: stopping it'), 'the orphan is stopped')
  const afterCrash = postgres(url, { max: 1 })
  t.same(await afterCrash`select talked_time::text from user_metrics`, [{ talked_time: '00:02:00' }], 'and the data is intact')
  await afterCrash.end()
  third.child.kill('SIGTERM')
  t.match(await third.exited, { code: 0 })
})

t.test('METRICS_PORT serves /metrics on its own listener, and the ingest port stops serving it', async t => {
  const db = await testDatabase(t)
  const metricsPort = await freePort()
  const server = await startServer({ DATABASE_URL: db.url, METRICS_PORT: String(metricsPort) })
  t.teardown(() => { server.child.kill('SIGKILL') })
  await fetch(`${server.address}/data`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event()) })
  t.equal((await fetch(`${server.address}/metrics`)).status, 404, 'not on the ingest port')
  const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
  t.equal(scrape.status, 200)
  t.match(scrape.headers.get('content-type'), /text\/plain/)
  t.match(await scrape.text(), /ingest_events_committed_total 1/)
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status, 404, 'nothing else there')
  server.child.kill('SIGTERM')
  t.match(await server.exited, { code: 0 })
})
