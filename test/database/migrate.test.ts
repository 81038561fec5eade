import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import postgres from 'postgres'
import t from 'tap'
import { migrate } from '../../src/database/migrate.js'
import { describeUrl } from '../../src/database/client.js'
import { testDatabase } from '../helpers/database.js'

const quiet = pino({ level: 'silent' })
const db = await testDatabase(t)

t.test('two instances migrating together apply each migration once', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'migrations-'))
  await writeFile(join(dir, '001_first.sql'), 'create table first_table (id int primary key);')
  await writeFile(join(dir, '002_second.sql'), 'create table second_table (id int); insert into second_table values (1);')
  await writeFile(join(dir, 'README.md'), 'not a migration')
  const a = postgres(db.url, { max: 1, onnotice: () => {} })
  const b = postgres(db.url, { max: 1, onnotice: () => {} })
  t.teardown(async () => { await a.end(); await b.end() })
  const [first, second] = await Promise.all([migrate(a, quiet, dir), migrate(b, quiet, dir)])
  t.same([...first, ...second].sort(), ['001_first.sql', '002_second.sql'], 'each file applied by exactly one instance')
  t.same(await db.sql`select count(*)::int as n from second_table`, [{ n: 1 }], 'the insert ran once')
  t.same(await migrate(a, quiet, dir), [], 'a third start applies nothing')
})

t.test('the real migrations are recorded, and a failing one rolls back whole', async t => {
  const applied = await db.sql`select version from schema_migrations where version like '0%_initial%'`
  t.equal(applied.length, 1, 'the initial schema is recorded')
  const dir = await mkdtemp(join(tmpdir(), 'migrations-'))
  await writeFile(join(dir, '001_ok.sql'), 'create table ok_table (id int);')
  await writeFile(join(dir, '002_broken.sql'), 'create table broken (id int); select no_such_function();')
  await t.rejects(migrate(db.sql, quiet, dir))
  const [{ exists }] = await db.sql`select to_regclass('ok_table') is not null as exists` as unknown as [{ exists: boolean }]
  t.equal(exists, false, 'nothing of the failed run remains')
})

t.test('describeUrl keeps the password out of logs', async t => {
  t.equal(describeUrl('postgres://app:s3cret@db:5432/metrics'), 'postgres://app@db:5432/metrics')
  t.equal(describeUrl('not a url'), '(unparseable DATABASE_URL)')
})
