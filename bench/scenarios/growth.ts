/**
 * The growth group's schemas (issue 12): as history grows, does write throughput stay flat —
 * user_metrics partitioned by day (migration 005) against the one table of before? Each schema on
 * a fresh database of its own on the bench's PostgreSQL: the given HTTP scenarios (single-durable,
 * batch-1000) on empty tables; then --history-rows rows of history over the last 30 days (COPY,
 * VACUUM ANALYZE) and the indexes' sizes; then the same scenarios on that history.
 *
 * Unpartitioned is the same migrations plus one partition taking every timestamp (MINVALUE to
 * MAXVALUE), created before anything is written: one heap and one set of indexes holding
 * everything — the table of before 005, with the same indexes. Not 001–004's table itself: the
 * service's writer needs 005's unique key (event_id, "timestamp") for its ON CONFLICT. The service
 * then never needs to create a partition.
 */
import { AckMode } from '../../src/config.js'
import { MIGRATIONS_DIR } from '../../src/database/migrate.js'
import { PartitionInterval } from '../../src/config.js'
import { ensurePartitions, upcoming } from '../../src/storage/partitions.js'
import { BodyKind } from '../lib/load/bodies.js'
import { copyHistory, HISTORY_DAYS } from '../lib/load/history-rows.js'
import { formatIndexSizes, indexSizes } from '../lib/measure/index-sizes.js'
import { checkNoLoss } from '../lib/measure/no-loss.js'
import { createGrowthDatabase, type GrowthDatabase } from '../lib/run/growth-database.js'
import { runHttpScenario, type HttpScenarioSpec } from '../lib/run/http-scenario.js'
import { GrowthSchema, type Scenario, type ScenarioContext, type ScenarioResult } from '../lib/scenario.js'

const CATCH_ALL = 'create table user_metrics_all partition of user_metrics for values from (minvalue) to (maxvalue)'
const DAY_MS = 86_400_000

/** A scenario's context on this schema's database instead of the bench's. */
type GrowthContext = ScenarioContext & { database: GrowthDatabase }

const DESCRIPTIONS: Record<GrowthSchema, string> = {
  partitioned: 'user_metrics partitioned by day (migration 005, the service\'s defaults)',
  unpartitioned: 'user_metrics as one table: 005 plus a single MINVALUE–MAXVALUE partition, made before any write'
}

/** `loads`: the HTTP scenarios measured on empty tables, then on the history. */
export function growthScenario (schema: GrowthSchema, loads: readonly HttpScenarioSpec[]): Scenario {
  const name = `growth-${schema}`
  return {
    name,
    description: `${DESCRIPTIONS[schema]}: ${loads.map(spec => spec.name).join(' and ')} on empty tables, then on --history-rows rows of history`,
    usesService: true,
    run: async context => await runGrowth(name, schema, loads, context)
  }
}

async function runGrowth (name: string, schema: GrowthSchema, loads: readonly HttpScenarioSpec[], context: ScenarioContext): Promise<ScenarioResult[]> {
  const database = await createGrowthDatabase(context.database, `bench_growth_${schema}`, MIGRATIONS_DIR)
  try {
    if (schema === GrowthSchema.unpartitioned) await database.sql.unsafe(CATCH_ALL)
    const on = { ...context, database }
    const results: ScenarioResult[] = []
    for (const spec of loads) results.push(await measure(name, schema, spec, on, 0))
    results.push(await preload(name, schema, on))
    const historyRows = await database.keepHistory()
    for (const spec of loads) results.push(await measure(name, schema, spec, on, historyRows))
    return results
  } finally {
    await database.stop()
  }
}

/** One HTTP scenario on this schema's database, as it stands: on empty tables, or on `historyRows` of history. */
async function measure (group: string, schema: GrowthSchema, spec: HttpScenarioSpec, context: GrowthContext, historyRows: number): Promise<ScenarioResult> {
  const onHistory = historyRows > 0
  const result = await runHttpScenario({
    ...spec,
    name: `${group}/${onHistory ? 'history' : 'empty'}/${spec.name}`,
    description: `${spec.description}; ${schema}, ${onHistory ? `on ${historyRows.toLocaleString('en')} rows of history` : 'on empty tables'}`
  }, context)
  return {
    ...result,
    // The service's DATABASE_URL: this schema's database, not the bench's.
    config: { ...result.config, database: context.database.name },
    growth: { step: 'load', schema, load: spec.name, historyRows, figure: spec.body.kind === BodyKind.single ? 'req/s' : 'events/s' }
  }
}

/** The tables emptied, the history COPY'd in (partitioned: into day partitions made first), VACUUM ANALYZE. */
async function preload (group: string, schema: GrowthSchema, { database, options, progress }: GrowthContext): Promise<ScenarioResult> {
  const name = `${group}/preload`
  await database.reset()
  const endMs = Date.now()
  if (schema === GrowthSchema.partitioned) {
    const created = await ensurePartitions(database.sql, PartitionInterval.day, upcoming(endMs - HISTORY_DAYS * DAY_MS, HISTORY_DAYS, PartitionInterval.day))
    progress(`${name}: ${created.length} day partitions made for the history`)
  }
  const loaded = await copyHistory(database.sql, { rows: options.historyRows, endMs, label: name, progress })
  const vacuumStarted = performance.now()
  await database.sql`vacuum analyze user_metrics, sessions, users`
  const vacuumSeconds = (performance.now() - vacuumStarted) / 1000
  const indexes = await indexSizes(database.sql)
  const stored = await database.countEvents()
  // Every COPY'd row, no more: the HTTP scenarios' check, a row for a request.
  const noLoss = checkNoLoss({ ackMode: AckMode.durable, eventsPerRequest: 1, ok: loaded.rows, sent: loaded.rows, responses: loaded.rows, storedAtEnd: stored, storedAfterDrain: stored })
  const rowsPerSecond = loaded.rows / loaded.seconds
  progress(`${name}: ${Math.round(rowsPerSecond).toLocaleString('en')} rows/s; VACUUM ANALYZE ${vacuumSeconds.toFixed(1)} s`)
  progress(`${name} ${formatIndexSizes(indexes)}`)
  progress(`${name} no-loss: ${noLoss.message}`)
  return {
    name,
    description: `${loaded.rows.toLocaleString('en')} rows of history over the last ${HISTORY_DAYS} days, random v4 event_ids: COPY (users and sessions first), then VACUUM ANALYZE`,
    config: { schema, rows: loaded.rows, days: HISTORY_DAYS, users: loaded.users, sessions: loaded.sessions, partitions: indexes.partitions },
    seconds: loaded.seconds,
    eventsPerSecond: rowsPerSecond,
    noLoss,
    notes: [
      `events/s is COPY's rows a second (users and sessions included in the time); VACUUM ANALYZE after it: ${vacuumSeconds.toFixed(1)} s`,
      formatIndexSizes(indexes)
    ],
    growth: { step: 'preload', schema, rows: loaded.rows, days: HISTORY_DAYS, copySeconds: loaded.seconds, vacuumSeconds, indexes }
  }
}
