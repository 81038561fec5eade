/**
 * A real PostgreSQL for each test file: a fresh database on DATABASE_URL's server when it is
 * set, otherwise a throwaway embedded cluster. Both are migrated like production.
 */
import { mkdtemp, rm, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import postgres from 'postgres'
import type { Test } from 'tap'
import { connect, type Sql } from '../../src/database/client.js'
import { startEmbeddedPostgres } from '../../src/database/embedded.js'
import { migrate } from '../../src/database/migrate.js'
import { freePort } from '../../harness/free-port.js'

export { freePort }

export interface TestDatabase {
  /** Connection string of this file's own database. */
  url: string
  /** A separate pool for the test's own reads, never the app's. */
  sql: Sql
}

const quiet = pino({ level: 'silent' })

async function serverUrl (t: Test): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL
  const dir = await mkdtemp(join(tmpdir(), 'metrics-ingest-test-'))
  // The cluster runs as the `postgres` user when we are root: it must reach its directory.
  await chmod(dir, 0o755)
  const embedded = await startEmbeddedPostgres({
    dataDir: join(dir, 'data'),
    port: await freePort(),
    database: 'postgres',
    log: quiet,
    // Throwaway cluster: durability settings off, so tests spend their time on our code.
    serverFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
  })
  t.teardown(async () => {
    await embedded.stop()
    await rm(dir, { recursive: true, force: true })
  })
  return embedded.url
}

/**
 * `migrations`: the directory of migrations to apply (default: all of db/migrations) — an
 * older release's schema for the upgrade tests.
 */
export async function testDatabase (t: Test, { migrations }: { migrations?: string } = {}): Promise<TestDatabase> {
  const server = await serverUrl(t)
  const name = `test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  const admin = postgres(server, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const url = new URL(server)
  url.pathname = `/${name}`
  const sql = connect(url.toString(), { max: 4, log: quiet })
  await migrate(sql, quiet, migrations)
  t.teardown(async () => {
    await sql.end({ timeout: 1 })
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end()
  })
  return { url: url.toString(), sql }
}

/** Empties the three tables between subtests. */
export async function truncate (sql: Sql): Promise<void> {
  await sql`truncate user_metrics, sessions, users, ingest_rejects restart identity`
}

/** The talked_time (seconds) of the poison event refusePoison() installs. */
export const POISON_SECONDS = 666.25

/**
 * A row that passes validation but that the database refuses: a trigger raising on events whose
 * talked_time is POISON_SECONDS. Dropped at the test's end.
 */
export async function refusePoison (t: Test, sql: Sql, name = 'refuse_poison'): Promise<void> {
  await sql.unsafe(`create or replace function ${name}() returns trigger language plpgsql as $$
    begin
      if new.talked_time = make_interval(secs => ${POISON_SECONDS}) then raise exception 'poison row'; end if;
      return new;
    end $$`)
  await sql.unsafe(`create trigger ${name} before insert on user_metrics for each row execute function ${name}()`)
  t.teardown(async () => { await sql.unsafe(`drop trigger if exists ${name} on user_metrics`) })
}
