import t from 'tap'
import { knownRowsCache, knowNothing } from '../../src/ingest/known-rows.js'
import { Lanes, laneOf } from '../../src/ingest/lanes.js'
import { Filled } from '../../src/ingest/rows.js'

t.test('a session is remembered with its owner; filled details only accumulate', async t => {
  const known = knownRowsCache(10)
  t.equal(known.session(1), undefined, 'unknown at first')
  known.rememberSession(1, { owner: 7, filled: Filled.device })
  known.rememberSession(1, { owner: 7, filled: Filled.platform })
  t.same(known.session(1), { owner: 7, filled: Filled.device | Filled.platform }, 'a later, narrower read never forgets a bit')
  t.same(known.lookups, { sessions: { hit: 1, miss: 1 }, users: { hit: 0, miss: 0 } }, 'hits and misses are counted, by table')
  known.profileAt(3)
  known.rememberProfileAt(3, 100)
  known.profileAt(3)
  known.profileAt(3)
  t.same(known.lookups.users, { hit: 2, miss: 1 })
})

t.test('a user\'s profile_at is a lower bound: it only grows', async t => {
  const known = knownRowsCache(10)
  known.rememberProfileAt(3, 100)
  known.rememberProfileAt(3, 50)
  t.equal(known.profileAt(3), 100, 'an older timestamp does not lower it')
  known.rememberProfileAt(3, 150)
  t.equal(known.profileAt(3), 150)
})

t.test('clear forgets sessions and users alike; the cache is bounded', async t => {
  const known = knownRowsCache(2)
  known.rememberSession(1, { owner: 1, filled: 0 })
  known.rememberProfileAt(1, 1)
  known.clear()
  t.equal(known.session(1), undefined)
  t.equal(known.profileAt(1), undefined)
  for (const id of [1, 2, 3]) known.rememberSession(id, { owner: id, filled: 0 })
  t.equal(known.session(1), undefined, 'the least recently used entry left at the bound')
  t.ok(known.session(3))
  t.equal(knownRowsCache(0), knowNothing, 'ROW_CACHE_ENTRIES=0 turns it off')
  knowNothing.rememberSession(1, { owner: 1, filled: 0 })
  knowNothing.rememberProfileAt(1, 1)
  t.equal(knowNothing.session(1), undefined)
  t.equal(knowNothing.profileAt(1), undefined)
  knowNothing.clear()
  t.same(knowNothing.lookups, { sessions: { hit: 0, miss: 0 }, users: { hit: 0, miss: 0 } }, 'the cache that is off counts nothing')
})

t.test('lanes: one user always in one lane, users spread over the lanes, one capacity', async t => {
  t.equal(laneOf(42, 4), laneOf(42, 4))
  const used = new Set(Array.from({ length: 64 }, (_, i) => laneOf((i + 1) * 4, 4)))
  t.equal(used.size, 4, 'ids sharing a stride of the lane count still use every lane')
  t.ok(laneOf(2 ** 53 - 1, 3) < 3, 'ids past 32 bits hash too')

  const flushed: Array<{ lane: number[], concurrent: number }> = []
  let inFlight = 0
  const release: Array<() => void> = []
  const lanes = new Lanes<number>({
    lanes: 2,
    capacity: 4,
    maxBatchRows: 4,
    maxWaitMs: 1000,
    flushWhenIdle: true,
    keyOf: user => user,
    flush: async rows => {
      inFlight++
      flushed.push({ lane: [...rows], concurrent: inFlight })
      await new Promise<void>(resolve => release.push(resolve))
      inFlight--
    }
  })
  const [a, b] = [1, 2, 3, 4, 5, 6].reduce<[number[], number[]]>((acc, u) => { acc[laneOf(u, 2)]!.push(u); return acc }, [[], []])
  t.ok(a.length > 0 && b.length > 0, 'users 1–6 fall in both lanes')
  t.equal(lanes.push(a[0]!), true)
  t.equal(lanes.push(b[0]!), true)
  await new Promise(resolve => setImmediate(resolve))
  t.equal(lanes.flushesInFlight, 2, 'one flush per lane in flight')
  t.equal(lanes.push(a[0]!), true, 'a second item of a busy lane waits in it')
  t.equal(lanes.push(a[0]!), true)
  t.equal(lanes.push(b[0]!), false, 'the fifth row is past the shared capacity of 4, whatever its lane')
  t.equal(lanes.size, 4)
  t.equal(lanes.free, 0)
  t.equal(lanes.buffered, 2)
  while (release.length > 0) { release.shift()!(); await new Promise(resolve => setImmediate(resolve)) }
  const closed = lanes.close()
  while (release.length > 0 || lanes.flushesInFlight > 0) { release.shift()?.(); await new Promise(resolve => setImmediate(resolve)) }
  await closed
  await lanes.settled()
  t.same(flushed.map(f => f.lane), [[a[0]], [b[0]], [a[0], a[0]]], 'the waiting items of a lane leave together')
  t.ok(flushed.every(f => f.concurrent <= 2), 'never more flushes than lanes')
  t.equal(lanes.lanes, 2)
  t.throws(() => new Lanes({ lanes: 0, capacity: 1, maxBatchRows: 1, maxWaitMs: 0, keyOf: () => 0, flush: async () => {} }), TypeError)
})

t.test('lanes: requests lighter than spreadFrom share the first lane, one flush at a time; heavier ones spread by user', async t => {
  const flushed: number[][] = []
  let inFlight = 0
  let most = 0
  const release: Array<() => void> = []
  const lanes = new Lanes<number[]>({
    lanes: 2,
    capacity: 100,
    maxBatchRows: 100,
    maxWaitMs: 1000,
    flushWhenIdle: true,
    keyOf: users => users[0]!,
    weigh: users => users.length,
    spreadFrom: 3,
    flush: async items => {
      inFlight++
      most = Math.max(most, inFlight)
      flushed.push(items.flat())
      await new Promise<void>(resolve => release.push(resolve))
      inFlight--
    }
  })
  const tick = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }
  const inFirst = [1, 2, 3, 4, 5, 6].find(u => laneOf(u, 2) === 0)!
  const inSecond = [1, 2, 3, 4, 5, 6].find(u => laneOf(u, 2) === 1)!

  t.equal(lanes.push([inFirst]), true)
  t.equal(lanes.push([inSecond]), true)
  await tick()
  t.equal(lanes.flushesInFlight, 1, 'single events of users hashed to different lanes go in one flush')
  t.same(flushed, [[inFirst, inSecond]])
  t.equal(lanes.push([inSecond, inSecond, inSecond]), true, 'a request of spreadFrom events goes to its user’s lane')
  await tick()
  t.equal(lanes.flushesInFlight, 2, '…and is written beside the first lane’s flush')
  t.same(flushed[1], [inSecond, inSecond, inSecond])
  t.equal(lanes.push([inSecond]), true, 'a single event waits for the first lane, whatever its user')
  await tick()
  t.equal(lanes.flushesInFlight, 2)
  release.shift()!()
  await tick(); await tick()
  t.same(flushed[2], [inSecond], 'and leaves once the first lane is free')
  while (release.length > 0 || lanes.flushesInFlight > 0) { release.shift()?.(); await tick() }
  await lanes.close()
  t.equal(most, 2)
  t.throws(() => new Lanes({ lanes: 2, capacity: 1, maxBatchRows: 1, maxWaitMs: 0, keyOf: () => 0, spreadFrom: 0, flush: async () => {} }), TypeError)
})
