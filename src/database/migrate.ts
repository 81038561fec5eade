import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { FastifyBaseLogger } from 'fastify'
import type { Sql } from './client.js'

/** db/migrations, from src/database (tsx, tap) and from dist/database (npm start) alike. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../db/migrations/', import.meta.url))

// Any constant works; this one spells "mtrx". Every instance takes the same lock, so two
// instances starting together apply each migration once, one after the other.
const MIGRATION_LOCK_KEY = 0x6d747278

const MIGRATION_FILE = /^\d{3}_[a-z0-9_]+\.sql$/

/** Applies every migration not yet recorded, in file-name order, in one transaction. */
export async function migrate (sql: Sql, log: FastifyBaseLogger, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter(name => MIGRATION_FILE.test(name)).sort()
  return await sql.begin(async tx => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`
    await tx`
      create table if not exists schema_migrations (
        version    text primary key,
        applied_at timestamptz not null default now()
      )`
    const rows = await tx<Array<{ version: string }>>`select version from schema_migrations`
    const done = new Set(rows.map(row => row.version))
    const applied: string[] = []
    for (const file of files) {
      if (done.has(file)) continue
      await tx.unsafe(await readFile(new URL(file, `file://${dir}/`), 'utf8')).simple()
      await tx`insert into schema_migrations (version) values (${file})`
      log.info({ migration: file }, 'migration applied')
      applied.push(file)
    }
    return applied
  })
}
