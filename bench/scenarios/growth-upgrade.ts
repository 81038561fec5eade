/**
 * The growth group's upgrade (issue 12): how long migration 005 takes on a populated table. A
 * database migrated with 001–004 only (copied to a temporary directory), --upgrade-rows rows of
 * history COPY'd into its user_metrics (metric_id left to its identity), VACUUM ANALYZE, then
 * migrate() with the real directory, timed: 005 renames the table and attaches it as the
 * partition user_metrics_legacy — a scan to check its bound and its two new indexes built — in
 * the migration's one transaction, while writers wait.
 */
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { AckMode } from '../../src/config.js'
import { migrate, MIGRATIONS_DIR } from '../../src/database/migrate.js'
import { listPartitions } from '../../src/storage/partitions.js'
import { copyHistory, HISTORY_DAYS } from '../lib/load/history-rows.js'
import { checkNoLoss } from '../lib/measure/no-loss.js'
import { createGrowthDatabase } from '../lib/run/growth-database.js'
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.js'

const NAME = 'growth-upgrade'
const BEFORE_005 = /^00[1-4]_[a-z0-9_]+\.sql$/
const MILLION = 1_000_000
const quiet = pino({ level: 'silent' })

async function run ({ options, database: bench, progress }: ScenarioContext): Promise<ScenarioResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-growth-upgrade-'))
  try {
    const before = (await readdir(MIGRATIONS_DIR)).filter(file => BEFORE_005.test(file)).sort()
    for (const file of before) await copyFile(join(MIGRATIONS_DIR, file), join(dir, file))
    const database = await createGrowthDatabase(bench, 'bench_growth_upgrade', dir)
    try {
      const loaded = await copyHistory(database.sql, { rows: options.upgradeRows, endMs: Date.now(), label: `${NAME} fill`, progress })
      await database.sql`vacuum analyze user_metrics, sessions, users`
      await database.sql`checkpoint`.catch(() => {})
      progress(`${NAME}: applying the migrations after ${before.at(-1) ?? '(none)'} to ${loaded.rows.toLocaleString('en')} rows`)
      const started = performance.now()
      const applied = await migrate(database.sql, quiet)
      const seconds = (performance.now() - started) / 1000
      const stored = await database.countEvents()
      const partitions = (await listPartitions(database.sql)).map(p => p.name)
      // The rows 001–004's table held, all still there: the HTTP scenarios' check, a row for a request.
      const noLoss = checkNoLoss({ ackMode: AckMode.durable, eventsPerRequest: 1, ok: loaded.rows, sent: loaded.rows, responses: loaded.rows, storedAtEnd: stored, storedAfterDrain: stored })
      const perMillion = seconds / (loaded.rows / MILLION)
      progress(`${NAME}: ${applied.join(', ')} took ${seconds.toFixed(2)} s (${perMillion.toFixed(2)} s per million rows); partitions: ${partitions.join(', ')}`)
      progress(`${NAME} no-loss: ${noLoss.message}`)
      return {
        name: NAME,
        description: growthUpgrade.description,
        config: { rows: loaded.rows, days: HISTORY_DAYS, migrationsBefore: before, applied, partitionsAfter: partitions },
        seconds,
        noLoss,
        notes: [
          `${applied.join(', ')}: ${seconds.toFixed(2)} s for ${loaded.rows.toLocaleString('en')} rows, ${perMillion.toFixed(2)} s per million rows`,
          `filled by COPY at ${Math.round(loaded.rows / loaded.seconds).toLocaleString('en')} rows/s, then VACUUM ANALYZE (not timed)`
        ],
        growth: { step: 'upgrade', rows: loaded.rows, fillSeconds: loaded.seconds, migrateSeconds: seconds, applied }
      }
    } finally {
      await database.stop()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export const growthUpgrade: Scenario = {
  name: NAME,
  description: 'migration 005 on a user_metrics that 001–004 made and --upgrade-rows rows filled: the upgrade\'s time',
  usesService: false,
  run
}
