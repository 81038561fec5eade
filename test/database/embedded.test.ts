import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import postgres from 'postgres'
import t from 'tap'
import { startEmbeddedPostgres } from '../../src/database/embedded.js'
import { freePort } from '../helpers/database.js'

const quiet = pino({ level: 'silent' })

t.test('the embedded database keeps its data across a restart', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'embedded-'))
  await chmod(dir, 0o755)
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const options = { dataDir: join(dir, 'pg'), port: await freePort(), database: 'metrics', log: quiet }

  const first = await startEmbeddedPostgres(options)
  const sql1 = postgres(first.url, { max: 1, onnotice: () => {} })
  await sql1`create table kept (v text)`
  await sql1`insert into kept values ('still here')`
  await sql1.end()
  await first.stop()

  const second = await startEmbeddedPostgres(options)
  t.teardown(() => second.stop())
  const sql2 = postgres(second.url, { max: 1 })
  t.same(await sql2`select v from kept`, [{ v: 'still here' }], 'the row survived the restart')
  await sql2.end()

  const clash = await startEmbeddedPostgres({ ...options, dataDir: join(dir, 'other'), port: options.port }).catch((err: Error) => err)
  t.type(clash, Error, 'a second server on the same port fails')
  t.match((clash as Error).message, /did not start on port/, 'with a message saying why')
})
