/**
 * The fault suite's Service is started only once it holds its own port: a process that took the
 * port first and answers /healthz 200 (a NATS monitor answers with the very body the service
 * does) must not pass for the service, or a scenario loads a stranger and counts nothing.
 */
import { once } from 'node:events'
import { createServer } from 'node:http'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { testDatabase } from '../helpers/database.js'
import { SERVER_ENTRY } from '../helpers/server-process.js'
import { Service } from './lib/service.js'

t.test('a port someone else answers /healthz on: the start fails naming EADDRINUSE, it does not pass', async t => {
  const db = await testDatabase(t)
  const dir = await mkdtemp(join(tmpdir(), 'metrics-ingest-service-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const squatter = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}') })
  squatter.listen(0, '127.0.0.1')
  await once(squatter, 'listening')
  t.teardown(() => { squatter.close() })
  const port = (squatter.address() as { port: number }).port

  const logFile = join(dir, 'service.log')
  await t.rejects(Service.start({ entry: SERVER_ENTRY, databaseUrl: db.url, port, logFile, startTimeoutMs: 30_000 }), /EADDRINUSE/)
  t.match(await readFile(logFile, 'utf8'), /EADDRINUSE/, 'its log says why')
})

t.test('on a free port: started, its own /healthz answers, stopped cleanly', async t => {
  const db = await testDatabase(t)
  const dir = await mkdtemp(join(tmpdir(), 'metrics-ingest-service-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const service = await Service.start({ entry: SERVER_ENTRY, databaseUrl: db.url, logFile: join(dir, 'service.log') })
  t.teardown(async () => { await service.stop('SIGKILL') })
  const res = await fetch(`${service.url}/readyz`)
  t.equal(res.status, 200, 'its /readyz: only the service has one')
  t.equal((await service.stop('SIGTERM')).code, 0)
})
