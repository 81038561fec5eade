import t, { type Test } from 'tap'
import { Clock as MockClock } from 'clock-mock'
import { RingBuffer, type FlushTrigger, type RingBufferOptions } from '../../src/ingest/ring-buffer.js'

interface Harness {
  ring: RingBuffer<number>
  clock: MockClock
  batches: Array<{ rows: number[], trigger: FlushTrigger }>
  /** Resolves the oldest flush still being written. */
  finish: () => void
}

/** A ring whose flushes stay in flight until the test finishes them. */
function harness (t: Test, options: Partial<RingBufferOptions<number>> = {}): Harness {
  const clock = new MockClock()
  const batches: Harness['batches'] = []
  const open: Array<() => void> = []
  let tearingDown = false
  const ring = new RingBuffer<number>({
    capacity: 10,
    maxBatchRows: 5,
    maxWaitMs: 100,
    clock,
    flush: async (rows, trigger) => {
      batches.push({ rows: [...rows], trigger })
      if (!tearingDown) await new Promise<void>(resolve => { open.push(resolve) })
    },
    ...options
  })
  t.teardown(() => {
    tearingDown = true
    for (const resolve of open.splice(0)) resolve()
    return ring.close()
  })
  return {
    ring,
    clock,
    batches,
    finish: () => { open.shift()?.() }
  }
}

/** Lets finished flushes run their completion callbacks. */
const tick = async (): Promise<void> => { for (let i = 0; i < 5; i++) await Promise.resolve() }

t.test('sent by size: a full batch leaves at once', async t => {
  const { ring, batches } = harness(t)
  for (let i = 1; i <= 4; i++) t.equal(ring.push(i), true)
  t.same(batches, [], 'four rows wait for the fifth')
  t.equal(ring.push(5), true)
  t.same(batches, [{ rows: [1, 2, 3, 4, 5], trigger: 'size' }], 'the fifth row sends the batch')
  t.equal(ring.buffered, 0)
  t.equal(ring.size, 5, 'rows in flight still count against capacity')
})

t.test('sent by timeout: a partial batch leaves at maxWaitMs', async t => {
  const { ring, clock, batches } = harness(t)
  t.equal(ring.push(1), true)
  clock.advance(99)
  t.same(batches, [], 'nothing before maxWaitMs')
  clock.advance(1)
  t.same(batches, [{ rows: [1], trigger: 'time' }], 'one partial batch at maxWaitMs')
})

t.test('the timer does not fire on an empty buffer', async t => {
  const { ring, clock, batches, finish } = harness(t)
  ring.push(1); ring.push(2); ring.push(3); ring.push(4); ring.push(5)
  t.equal(batches.length, 1, 'size trigger emptied the buffer')
  clock.advance(1000)
  t.equal(batches.length, 1, 'no flush of nothing')
  finish()
  await ring.settled()
  clock.advance(1000)
  t.equal(batches.length, 1, 'still nothing after the flush finished')
})

t.test('never holds more than capacity: push refuses, then accepts once a flush finishes', async t => {
  const { ring, batches, finish } = harness(t, { capacity: 6, maxBatchRows: 3 })
  for (let i = 1; i <= 6; i++) t.equal(ring.push(i), true, `row ${i} fits`)
  t.equal(ring.push(7), false, 'the seventh row is refused')
  t.equal(ring.size, 6)
  t.equal(ring.free, 0)
  t.equal(batches.length, 1, 'one flush in flight (concurrency 1), three rows waiting')
  finish()
  await tick()
  t.equal(batches.length, 2, 'the waiting full batch left when the writer came free')
  t.equal(ring.push(7), true, 'room again')
  t.same(batches.map(b => b.rows), [[1, 2, 3], [4, 5, 6]])
})

t.test('sent when idle: a free writer takes what is waiting without the timer', async t => {
  const { ring, clock, batches, finish } = harness(t, { capacity: 100, maxBatchRows: 50, concurrency: 2, flushWhenIdle: true })
  ring.push(1)
  ring.push(2)
  t.same(batches, [], 'deferred to the end of this I/O phase')
  clock.advance(0)
  t.same(batches, [{ rows: [1, 2], trigger: 'idle' }], 'rows that arrived together share a flush')
  ring.push(3)
  clock.advance(0)
  t.same(batches[1], { rows: [3], trigger: 'idle' }, 'the second writer takes the next row')
  for (let i = 4; i <= 10; i++) ring.push(i)
  clock.advance(0)
  t.equal(batches.length, 2, 'both writers busy: rows wait and the batch grows')
  t.equal(ring.flushesInFlight, 2)
  finish()
  await tick()
  clock.advance(0)
  t.same(batches[2], { rows: [4, 5, 6, 7, 8, 9, 10], trigger: 'idle' }, 'the freed writer takes all that waited')
})

t.test('a timeout while every writer is busy sends on the next free writer', async t => {
  const { ring, clock, batches, finish } = harness(t, { capacity: 20, maxBatchRows: 5 })
  for (let i = 1; i <= 5; i++) ring.push(i)
  ring.push(6)
  clock.advance(100)
  t.equal(batches.length, 1, 'the writer is busy, so the timed-out row waits')
  finish()
  await tick()
  t.same(batches[1], { rows: [6], trigger: 'time' }, 'sent by the timeout that fell due')
})

t.test('sent when closing: close() drains everything, refuses new rows, and can be called twice', async t => {
  const flushed: number[][] = []
  const triggers: FlushTrigger[] = []
  const ring = new RingBuffer<number>({
    capacity: 10,
    maxBatchRows: 3,
    maxWaitMs: 60_000,
    clock: new MockClock(),
    flush: async (rows, trigger) => { flushed.push([...rows]); triggers.push(trigger) }
  })
  for (let i = 1; i <= 7; i++) ring.push(i)
  const first = ring.close()
  const second = ring.close()
  t.equal(first, second, 'the same promise both times')
  t.equal(ring.push(8), false, 'a closed ring refuses rows')
  await first
  t.same(flushed.flat(), [1, 2, 3, 4, 5, 6, 7], 'every row written, in order')
  t.same(triggers, ['size', 'size', 'close'], 'the remainder is labelled close')
  t.equal(ring.size, 0)
  await ring.close()
})

t.test('settled() waits for flushes in flight and resolves at once when idle', async t => {
  const { ring, batches, finish } = harness(t)
  await ring.settled()
  for (let i = 1; i <= 5; i++) ring.push(i)
  let done = false
  const settled = ring.settled().then(() => { done = true })
  await tick()
  t.equal(done, false, 'a flush is in flight')
  finish()
  await settled
  t.equal(done, true)
  t.equal(batches.length, 1)
})

t.test('a flush that throws or rejects is reported and releases its rows', async t => {
  const errors: unknown[] = []
  let mode: 'throw' | 'reject' = 'throw'
  const ring = new RingBuffer<number>({
    capacity: 4,
    maxBatchRows: 2,
    maxWaitMs: 10,
    clock: new MockClock(),
    flush: (rows) => {
      if (mode === 'throw') throw new Error(`sync ${rows.join()}`)
      return Promise.reject(new Error(`async ${rows.join()}`))
    },
    onError: err => { errors.push(err); throw new Error('a throwing handler must not wedge the ring') }
  })
  ring.push(1); ring.push(2)
  await ring.settled()
  mode = 'reject'
  ring.push(3); ring.push(4)
  await ring.settled()
  t.same(errors.map(e => (e as Error).message), ['sync 1,2', 'async 3,4'])
  t.equal(ring.size, 0, 'failed rows no longer count against capacity')
  await ring.close()
})

t.test('bad options are programmer errors: TypeError at construction', async t => {
  const flush = async (): Promise<void> => {}
  t.throws(() => new RingBuffer({ capacity: 0, maxBatchRows: 1, maxWaitMs: 1, flush }), TypeError, 'capacity')
  t.throws(() => new RingBuffer({ capacity: 1.5, maxBatchRows: 1, maxWaitMs: 1, flush }), TypeError, 'fractional capacity')
  t.throws(() => new RingBuffer({ capacity: 5, maxBatchRows: 6, maxWaitMs: 1, flush }), TypeError, 'batch above capacity')
  t.throws(() => new RingBuffer({ capacity: 5, maxBatchRows: 1, maxWaitMs: -1, flush }), TypeError, 'negative wait')
  t.throws(() => new RingBuffer({ capacity: 5, maxBatchRows: 1, maxWaitMs: 1, concurrency: 0, flush }), TypeError, 'no writers')
  t.throws(() => new RingBuffer({ capacity: 5, maxBatchRows: 1, maxWaitMs: 1, flush: undefined as never }), TypeError, 'no flush')
})

t.test('the default clock uses real timers', async t => {
  const flushed: number[] = []
  const ring = new RingBuffer<number>({ capacity: 2, maxBatchRows: 2, maxWaitMs: 1, flushWhenIdle: true, flush: async rows => { flushed.push(...rows) } })
  ring.push(1)
  await new Promise(resolve => setImmediate(resolve))
  await ring.settled()
  t.same(flushed, [1], 'flushed by a real setImmediate')
  ring.push(2)
  await ring.close()
  t.same(flushed, [1, 2])
})

t.test('weighted items: capacity counts rows, and a group is never split between flushes', async t => {
  const flushed: number[][][] = []
  const ring = new RingBuffer<number[]>({
    capacity: 10,
    maxBatchRows: 4,
    maxWaitMs: 1_000,
    clock: new MockClock(),
    weigh: group => group.length,
    flush: async groups => { flushed.push(groups.map(g => [...g])) }
  })
  t.equal(ring.push([1, 2]), true)
  t.equal(ring.push([3, 4, 5]), true, 'five rows now: past maxBatchRows')
  t.same(flushed, [[[1, 2]]], 'the size trigger took only what fits whole; [3,4,5] waits for the next flush')
  await ring.settled()
  t.equal(ring.push([6, 7, 8, 9, 10, 11, 12]), true, 'seven rows fit in the ten free')
  t.equal(ring.push([13, 14, 15, 16]), false, 'four more would exceed capacity: refused whole')
  t.equal(ring.size, 10)
  await ring.close()
  t.same(flushed.flat().flat(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'every row written once, in order')
  t.ok(flushed.some(batch => batch.length === 1 && batch[0]!.length === 7), 'a group heavier than maxBatchRows goes alone, whole')
})
