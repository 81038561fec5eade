/**
 * What a window cost in writes: PostgreSQL's WAL (pg_stat_wal: bytes, full-page images, syncs —
 * ours alone, the cluster serves only the bench) and the disks (/proc/diskstats: the whole
 * machine's writes and how busy the devices were). Durable ingest ends in the WAL and its fsyncs.
 */
import { readFileSync } from 'node:fs'
import type { Sql } from 'postgres'

interface WalReading {
  bytes: number
  records: number
  fullPageImages: number
  syncs: number
}

interface DiskReading {
  /** Sectors of 512 bytes written, all whole disks. */
  sectorsWritten: number
  /** Milliseconds during which a device had I/O in flight, summed over devices. */
  busyMs: number
}

export interface IoReading {
  at: number
  wal?: WalReading
  disk?: DiskReading
}

export interface IoUsage {
  walMiBPerSecond?: number
  /** WAL written per committed event: heap row, index entries, full-page images after a checkpoint. */
  walBytesPerEvent?: number
  fullPageImagesPerSecond?: number
  /** WAL flushes to disk a second: about one per commit, fewer when commits share a flush. */
  walSyncsPerSecond?: number
  /** The machine's disks, everything on it included. */
  diskWriteMiBPerSecond?: number
  /** Share of the window the busiest way to say it: device-time with I/O in flight ÷ window (max 100 % per device). */
  diskBusyPercent?: number
}

async function readWal (sql: Sql): Promise<WalReading | undefined> {
  try {
    const [row] = await sql<[{ bytes: string, records: string, fpi: string, syncs: string }]>`
      select wal_bytes::text as bytes, wal_records::text as records, wal_fpi::text as fpi, wal_sync::text as syncs from pg_stat_wal`
    return { bytes: Number(row.bytes), records: Number(row.records), fullPageImages: Number(row.fpi), syncs: Number(row.syncs) }
  } catch {
    // pg_stat_wal is PostgreSQL 14+.
    return undefined
  }
}

function readDisks (): DiskReading | undefined {
  try {
    let sectorsWritten = 0
    let busyMs = 0
    for (const line of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/)
      const name = f[2]
      // Whole disks only (vda, sda, nvme0n1), not partitions, loops or RAM disks.
      if (name === undefined || !/^(vd[a-z]+|sd[a-z]+|xvd[a-z]+|nvme\d+n\d+)$/.test(name)) continue
      sectorsWritten += Number(f[9])
      busyMs += Number(f[12])
    }
    return { sectorsWritten, busyMs }
  } catch {
    return undefined
  }
}

export async function readIo (sql: Sql): Promise<IoReading> {
  const wal = await readWal(sql)
  const disk = readDisks()
  return { at: performance.now(), ...(wal !== undefined ? { wal } : {}), ...(disk !== undefined ? { disk } : {}) }
}

export function ioUsage (before: IoReading, after: IoReading, events: number | undefined): IoUsage {
  const seconds = (after.at - before.at) / 1000
  const usage: IoUsage = {}
  if (before.wal !== undefined && after.wal !== undefined) {
    const bytes = after.wal.bytes - before.wal.bytes
    usage.walMiBPerSecond = bytes / 2 ** 20 / seconds
    if (events !== undefined && events > 0) usage.walBytesPerEvent = bytes / events
    usage.fullPageImagesPerSecond = (after.wal.fullPageImages - before.wal.fullPageImages) / seconds
    usage.walSyncsPerSecond = (after.wal.syncs - before.wal.syncs) / seconds
  }
  if (before.disk !== undefined && after.disk !== undefined) {
    usage.diskWriteMiBPerSecond = (after.disk.sectorsWritten - before.disk.sectorsWritten) * 512 / 2 ** 20 / seconds
    usage.diskBusyPercent = (after.disk.busyMs - before.disk.busyMs) / (seconds * 1000) * 100
  }
  return usage
}

export function formatIo (io: IoUsage): string {
  const n = (x: number | undefined, digits = 0): string => x === undefined ? 'n/a' : x.toFixed(digits)
  return `WAL ${n(io.walMiBPerSecond, 1)} MiB/s (${n(io.walBytesPerEvent)} B/event, ${n(io.fullPageImagesPerSecond)} full-page images/s, ` +
    `${n(io.walSyncsPerSecond)} syncs/s); disks ${n(io.diskWriteMiBPerSecond, 1)} MiB/s written, ${n(io.diskBusyPercent)} % busy (whole machine)`
}
