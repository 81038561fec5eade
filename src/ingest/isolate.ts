/**
 * Poison-row isolation. When the database refuses a batch because of rows in it (a CHECK or
 * trigger failure: anything the database refuses for that row), the batch is split in halves
 * and each half written on its own, recursively, until every refused row stands alone: the
 * good rows commit, each refused one is kept in ingest_rejects. That costs about 2·log2(n)
 * extra transactions per poison row, and nothing when there is none. (Vector's postgres sink
 * fails the whole batch instead; one bad row must not cost its neighbours.)
 */
import type { MetricEvent } from './schema.js'
import { ErrorCode } from '../errors.js'
import { EventStatus, batchResult, type BatchResult, type Reject } from './writer.js'

export interface IsolationDeps {
  /** Writes events in one transaction; throws if the database refuses it. */
  write: (events: readonly MetricEvent[], receivedAt: readonly number[]) => Promise<BatchResult>
  /** Keeps refused events; throws if that fails too. */
  reject: (rejects: Reject[]) => Promise<void>
  /** True for a refusal caused by the data (so splitting can find the row), false for anything else. */
  isPoison: (err: unknown) => boolean
}

export async function writeIsolating (deps: IsolationDeps, events: readonly MetricEvent[], receivedAt: readonly number[]): Promise<BatchResult> {
  try {
    return await deps.write(events, receivedAt)
  } catch (err) {
    if (!deps.isPoison(err)) throw err
    if (events.length === 1) {
      const { code, message } = err as { code: string, message: string }
      await deps.reject([{ event: events[0]!, receivedAt: receivedAt[0]!, code: ErrorCode.rejectedByDatabase, sqlstate: code, message }])
      return batchResult([EventStatus.rejected], new Map([[0, code]]))
    }
    const middle = events.length >>> 1
    const left = await writeIsolating(deps, events.slice(0, middle), receivedAt.slice(0, middle))
    const right = await writeIsolating(deps, events.slice(middle), receivedAt.slice(middle))
    const sqlstates = new Map(left.sqlstates)
    for (const [index, code] of right.sqlstates) sqlstates.set(index + middle, code)
    return batchResult([...left.statuses, ...right.statuses], sqlstates)
  }
}
