/**
 * Storage upkeep for user_metrics' partitions: created PARTITIONS_AHEAD intervals ahead, on
 * demand for a timestamp that has none (the writer asks), and dropped past RETENTION_DAYS — at
 * start-up, then every MAINTENANCE_INTERVAL_SECONDS. Every replica runs it; the advisory locks
 * in partitions.ts and retention.ts make that safe.
 */
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { PartitionCreation } from '../metrics.js'
import { ensurePartitions, listPartitions, upcoming } from './partitions.js'
import { dropPartitionsBefore, purgeRejectsBefore } from './retention.js'

export interface Storage {
  /** Creates the partitions these instants (epoch ms) lack: a flush found no partition for a row. */
  makePartitions: (instants: Iterable<number>) => Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    storage: Storage
  }
}

export type StorageOptions = Pick<Config,
  'PARTITION_INTERVAL' | 'PARTITIONS_AHEAD' | 'RETENTION_DAYS' | 'REJECTS_RETENTION_DAYS' | 'MAINTENANCE_INTERVAL_SECONDS'>

const DAY_MS = 86_400_000

export const storagePlugin = fp<StorageOptions>(async (app, options) => {
  const { sql, metrics, log } = app
  const interval = options.PARTITION_INTERVAL

  async function makePartitions (instants: Iterable<number>): Promise<void> {
    const created = await ensurePartitions(sql, interval, instants)
    if (created.length === 0) return
    metrics.partitionsCreated.inc({ when: PartitionCreation.onDemand }, created.length)
    log.info({ partitions: created }, 'partition created on demand for a timestamp that had none')
  }

  async function maintain (): Promise<void> {
    // Wall time, never an injected test clock: partition bounds are calendar dates.
    const now = Date.now()
    const created = await ensurePartitions(sql, interval, upcoming(now, options.PARTITIONS_AHEAD, interval))
    if (created.length > 0) {
      metrics.partitionsCreated.inc({ when: PartitionCreation.ahead }, created.length)
      log.info({ partitions: created }, 'partitions created ahead')
    }
    if (options.RETENTION_DAYS !== undefined) {
      const dropped = await dropPartitionsBefore(sql, now - options.RETENTION_DAYS * DAY_MS)
      if (dropped !== undefined && dropped.length > 0) {
        metrics.partitionsDropped.inc(dropped.length)
        log.info({ partitions: dropped, retentionDays: options.RETENTION_DAYS }, 'partitions past retention dropped')
      }
    }
    if (options.REJECTS_RETENTION_DAYS > 0) {
      const purged = await purgeRejectsBefore(sql, now - options.REJECTS_RETENTION_DAYS * DAY_MS)
      if (purged > 0) {
        metrics.rejectsPurged.inc(purged)
        log.info({ rows: purged, retentionDays: options.REJECTS_RETENTION_DAYS }, 'ingest_rejects past retention deleted')
      }
    }
    metrics.partitions.set((await listPartitions(sql)).length)
  }

  // A failed run is logged and counted; the next one tries again, and a flush that meets a
  // missing partition makes it on demand meanwhile.
  let running: Promise<void> = Promise.resolve()
  let timer: NodeJS.Timeout | undefined
  let closed = false
  function run (): Promise<void> {
    running = maintain().then(
      () => { metrics.maintenanceRuns.inc({ outcome: 'ok' }) },
      (err: unknown) => {
        metrics.maintenanceRuns.inc({ outcome: 'error' })
        log.error({ err }, 'storage maintenance failed; retrying at the next run')
      })
    return running
  }
  function schedule (): void {
    if (closed) return
    // Unref'd: upkeep never holds the process open.
    timer = setTimeout(() => { run().then(schedule, schedule) }, options.MAINTENANCE_INTERVAL_SECONDS * 1000).unref()
  }

  app.decorate('storage', { makePartitions })
  // Before the server listens: the partitions of today and the next few exist from the start.
  await run()
  schedule()
  app.addHook('onClose', async () => {
    closed = true
    clearTimeout(timer)
    await running
  })
}, { name: 'storage', dependencies: ['database', 'metrics'] })
