/**
 * The growth group's section of the report, the same on the console and in the Markdown (issue
 * 12): one table of each schema on empty tables and on the history, with history ÷ empty; the
 * indexes after the preload; the preload; the upgrade's time. Undefined for a run without growth.
 */
import { formatEachIndex, mebibytes } from '../measure/index-sizes.js'
import type { GrowthStep, ScenarioResult } from '../scenario.js'
import { historyRatio } from './ratios.js'
import { fmt, gridTable as markdownTable, ms } from './table.js'

type Step<K extends GrowthStep['step']> = ScenarioResult & { growth: Extract<GrowthStep, { step: K }> }

function steps<K extends GrowthStep['step']> (results: readonly ScenarioResult[], step: K): Array<Step<K>> {
  return results.filter((r): r is Step<K> => r.growth?.step === step)
}

const times = (ratio: number | undefined): string => ratio === undefined ? '—' : `${ratio.toFixed(2)}×`
const seconds = (s: number): string => s < 10 ? s.toFixed(2) : s.toFixed(1)

const MODEL = 'Each schema on a fresh database of its own in the same PostgreSQL, the service with its defaults. ' +
  '**partitioned**: the migrations as they are — user_metrics range-partitioned by day on "timestamp"; for the history the 30 ' +
  'days\' partitions are made first (ensurePartitions), the service makes today\'s and the next ones at start-up. ' +
  '**unpartitioned**: the same migrations, then one partition `user_metrics_all` from MINVALUE to MAXVALUE made before anything ' +
  'is written: one heap and one set of indexes holding everything — the table of before 005 with the same indexes. It is modelled so, ' +
  'not as 001–004\'s table, because the service\'s writer needs 005\'s unique key (event_id, "timestamp") for its ON CONFLICT; the ' +
  'service then never creates a partition. ' +
  'Each HTTP scenario runs as in the main table (warm-up, then the measured window, random v4 event_ids, timestamps in the last hour), ' +
  'first on empty tables, then on the history: rows spread evenly over the last 30 days, random v4 event_ids, on users and sessions of ' +
  'their own (pre-created), loaded with COPY, then VACUUM ANALYZE. On the history each window starts on the history alone: what an ' +
  'earlier window or warm-up wrote is deleted (and vacuumed) first, so both states create the load\'s users and sessions alike.'

function throughputTable (results: readonly ScenarioResult[]): string {
  const windows = steps(results, 'load')
  const schemas = [...new Set(windows.map(r => r.growth.schema))]
  const loads = [...new Set(windows.map(r => r.growth.load))]
  const figureOf = (load: string): string => windows.find(r => r.growth.load === load)?.growth.figure ?? ''
  const header = ['schema', 'history rows', ...loads.flatMap(load => [`${load} ${figureOf(load)}`, 'p50 ms', 'p99 ms', '÷ empty'])]
  const rows = schemas.flatMap(schema => [false, true].map(onHistory => {
    const mine = windows.filter(r => r.growth.schema === schema && (r.growth.historyRows > 0) === onHistory)
    const historyRows = mine[0]?.growth.historyRows ?? 0
    return [
      schema,
      onHistory ? fmt(historyRows) : '0 (empty)',
      ...loads.flatMap(load => {
        const r = mine.find(w => w.growth.load === load)
        const figure = r === undefined ? undefined : r.growth.figure === 'req/s' ? r.requestsPerSecond : r.eventsPerSecond
        return [fmt(figure), ms(r?.latencyMs?.p50), ms(r?.latencyMs?.p99), onHistory ? times(historyRatio(results, schema, load)?.value) : '—']
      })
    ]
  }))
  return markdownTable(header, rows, 2)
}

function indexTable (results: readonly ScenarioResult[]): string {
  const rows = steps(results, 'preload').map(({ growth: { schema, indexes } }) => [
    schema,
    String(indexes.partitions),
    `${indexes.current.name} (${fmt(indexes.current.rows)} rows)`,
    formatEachIndex(indexes.current),
    mebibytes(indexes.current.indexBytes),
    mebibytes(indexes.totalIndexBytes)
  ])
  return markdownTable(['schema', 'partitions', 'partition written today', 'its indexes, MiB each (pg_relation_size)', 'its indexes MiB (pg_indexes_size)', 'all partitions\' indexes MiB'], rows, 4)
}

function preloadTable (results: readonly ScenarioResult[]): string {
  const rows = steps(results, 'preload').map(({ growth: g }) => [g.schema, fmt(g.rows), seconds(g.copySeconds), fmt(g.rows / g.copySeconds), seconds(g.vacuumSeconds)])
  return markdownTable(['schema', 'rows', 'COPY s', 'rows/s', 'VACUUM ANALYZE s'], rows)
}

function upgradeTable (results: readonly ScenarioResult[]): string {
  const rows = steps(results, 'upgrade').map(({ growth: g }) => [
    g.applied.join(', '),
    fmt(g.rows),
    fmt(g.rows / g.fillSeconds),
    seconds(g.migrateSeconds),
    seconds(g.migrateSeconds / (g.rows / 1_000_000))
  ])
  return markdownTable(['migration', 'rows in user_metrics', 'fill rows/s (COPY)', 'migration s', 's per million rows'], rows)
}

export function growthSection (results: readonly ScenarioResult[]): string | undefined {
  if (!results.some(r => r.growth !== undefined)) return undefined
  const sections = ['## Growth: write throughput as history grows (issue 12)']
  if (steps(results, 'load').length > 0 || steps(results, 'preload').length > 0) sections.push(MODEL)
  if (steps(results, 'load').length > 0) {
    sections.push(throughputTable(results),
      '÷ empty: the window on the history ÷ the same on empty tables, same schema, same run (req/s for single events, committed events/s for batches); the target is ≥ 0.9× partitioned, the unpartitioned ratio beside it.')
  }
  if (steps(results, 'preload').length > 0) {
    sections.push('### Indexes on the history (after VACUUM ANALYZE, before the windows)', indexTable(results),
      'A write touches only the indexes of the partition its row lands in: today\'s when partitioned (the partitions ahead are empty), everything\'s when not. ' +
        'Today\'s partition holds the history since 00:00 UTC: the later in the UTC day the run, the fuller it is (at most a thirtieth of the history).',
      '### Preload', preloadTable(results))
  }
  if (steps(results, 'upgrade').length > 0) {
    sections.push('### Upgrade: migration 005 on a populated table',
      'A database migrated with 001–004 only, filled by COPY (the history\'s shape), VACUUM ANALYZE, then `migrate()` with the real directory, timed. ' +
      '005 renames the table, attaches it as the partition user_metrics_legacy (a scan to check its bound) and builds its two new indexes, in one transaction; writers wait meanwhile.',
      upgradeTable(results))
  }
  return sections.join('\n\n')
}
