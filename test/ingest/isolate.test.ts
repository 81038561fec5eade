import t from 'tap'
import { writeIsolating, type IsolationDeps } from '../../src/ingest/isolate.js'
import type { MetricEvent } from '../../src/ingest/schema.js'
import { batchResult, EventStatus, type Reject } from '../../src/ingest/writer.js'

/** A stand-in for the database's verdict on a transaction: refuse any batch holding a poison id. */
function deps (poison: Set<number>, otherFailure?: Error) {
  const writes: number[][] = []
  const rejected: Reject[] = []
  const d: IsolationDeps = {
    write: async events => {
      const ids = events.map(e => e.user_id)
      writes.push(ids)
      if (otherFailure !== undefined) throw otherFailure
      if (ids.some(id => poison.has(id))) throw Object.assign(new Error('poison'), { code: 'P0001' })
      return batchResult(ids.map(() => EventStatus.committed))
    },
    reject: async rejects => { rejected.push(...rejects) },
    isPoison: err => (err as { code?: string }).code === 'P0001'
  }
  return { d, writes, rejected }
}

const events = (n: number): MetricEvent[] => Array.from({ length: n }, (_, i) => ({ user_id: i + 1 }) as MetricEvent)
const times = (n: number): number[] => Array.from({ length: n }, (_, i) => 1_700_000_000_000 + i)

t.test('no poison: one write, nothing rejected', async t => {
  const { d, writes, rejected } = deps(new Set())
  const result = await writeIsolating(d, events(1000), times(1000))
  t.equal(writes.length, 1)
  t.equal(result.committed, 1000)
  t.same(rejected, [])
})

t.test('one poison row among 1,000: found in about 2·log2(n) writes, the other 999 committed', async t => {
  const { d, writes, rejected } = deps(new Set([618]))
  const result = await writeIsolating(d, events(1000), times(1000))
  t.equal(result.committed, 999)
  t.equal(result.rejected, 1)
  t.equal(result.statuses[617], EventStatus.rejected, 'the poison event keeps its position')
  t.same([...result.sqlstates], [[617, 'P0001']], 'with its SQLSTATE')
  t.equal(rejected.length, 1)
  t.match(rejected[0], { event: { user_id: 618 }, receivedAt: 1_700_000_000_617, code: 'INGEST_REJECTED_BY_DATABASE', sqlstate: 'P0001', message: 'poison' })
  t.ok(writes.length <= 1 + 2 * Math.ceil(Math.log2(1000)), `${writes.length} writes`)
  t.same(writes.flat().filter(id => id !== 618).length >= 999, true, 'every good row was written')
})

t.test('several poison rows, including neighbours and both ends', async t => {
  const bad = new Set([1, 2, 50, 99, 100])
  const { d, rejected } = deps(bad)
  const result = await writeIsolating(d, events(100), times(100))
  t.equal(result.committed, 95)
  t.same(rejected.map(r => r.event.user_id).sort((a, b) => a - b), [...bad])
  t.same([...result.sqlstates.keys()].sort((a, b) => a - b), [0, 1, 49, 98, 99])
})

t.test('a failure that is not about the data is not split: it propagates at once', async t => {
  const { d, writes } = deps(new Set(), Object.assign(new Error('connection lost'), { code: 'ECONNRESET' }))
  await t.rejects(writeIsolating(d, events(64), times(64)), /connection lost/)
  t.equal(writes.length, 1, 'no bisecting an outage')
})
