/**
 * Writers that never share rows: FLUSH_CONCURRENCY lanes, each a ring that writes one flush at a
 * time. A request of `spreadFrom` events or more goes to the lane its first event's user hashes
 * to: two such flushes in flight then never upsert the same user or claim the same session, so
 * they never wait on each other's row locks, and a big flush gets a connection (and a core of
 * PostgreSQL) of its own. Smaller requests — single events — all share the first lane, so they
 * gather into one flush at a time: a flush costs a round trip, a commit and a WAL flush whatever
 * its size, and two half-size flushes of single events measured slower than one (docs/performance.md).
 * A /data/batch request stays one item, so it is still one transaction; when its events span
 * users of several lanes, or a single event of one of its users waits in the first lane, it may
 * meet another flush on a row and wait for it (all take keys in the same order, so they cannot
 * deadlock). The lanes share one capacity.
 */
import { RingBuffer, type RingBufferOptions } from './ring-buffer.js'

export interface LanesOptions<T> extends Omit<RingBufferOptions<T>, 'concurrency'> {
  lanes: number
  /** The key an item of `spreadFrom` or more is routed by (the user id): such items with one key always share a lane. */
  keyOf: (item: T) => number
  /** Items that weigh at least this are spread by key; lighter ones go to the first lane. Default 1: all spread. */
  spreadFrom?: number
}

export class Lanes<T> {
  readonly capacity: number
  readonly #rings: Array<RingBuffer<T>>
  readonly #keyOf: (item: T) => number
  readonly #weigh: (item: T) => number
  readonly #spreadFrom: number

  constructor ({ lanes, keyOf, spreadFrom = 1, ...ring }: LanesOptions<T>) {
    if (!Number.isSafeInteger(lanes) || lanes < 1) throw new TypeError(`lanes must be a positive integer, got ${lanes}`)
    if (!Number.isSafeInteger(spreadFrom) || spreadFrom < 1) throw new TypeError(`spreadFrom must be a positive integer, got ${spreadFrom}`)
    this.#spreadFrom = spreadFrom
    // Each ring could take the whole capacity; push() holds the lanes to it together.
    this.#rings = Array.from({ length: lanes }, () => new RingBuffer<T>({ ...ring, concurrency: 1 }))
    this.capacity = ring.capacity
    this.#keyOf = keyOf
    this.#weigh = ring.weigh ?? (() => 1)
  }

  get lanes (): number { return this.#rings.length }
  /** Rows held in memory, waiting or being written, over every lane: what capacity bounds. */
  get size (): number { return this.#sum(ring => ring.size) }
  /** Rows waiting for a flush. */
  get buffered (): number { return this.#sum(ring => ring.buffered) }
  get free (): number { return this.capacity - this.size }
  get flushesInFlight (): number { return this.#sum(ring => ring.flushesInFlight) }

  /** Adds an item to its lane; false when it does not fit or the lanes are closed (backpressure, never a throw). */
  push (item: T): boolean {
    const weight = this.#weigh(item)
    if (this.size + weight > this.capacity) return false
    const lane = weight < this.#spreadFrom ? 0 : laneOf(this.#keyOf(item), this.#rings.length)
    return this.#rings[lane]!.push(item)
  }

  /** Resolves when no lane has a flush in flight or about to start. */
  async settled (): Promise<void> {
    await Promise.all(this.#rings.map(ring => ring.settled()))
  }

  /** Stops accepting, flushes every lane and waits for all of them. Safe to call twice. */
  async close (): Promise<void> {
    await Promise.all(this.#rings.map(ring => ring.close()))
  }

  #sum (of: (ring: RingBuffer<T>) => number): number {
    let total = 0
    for (const ring of this.#rings) total += of(ring)
    return total
  }
}

/**
 * The lane of a key: Fibonacci hashing (multiply by 2^32/φ, keep the top bits), so ids that
 * share a stride (all even, all multiples of the lane count) still spread over the lanes.
 */
export function laneOf (key: number, lanes: number): number {
  const low = key % 0x1_0000_0000
  const high = Math.floor(key / 0x1_0000_0000)
  const hash = Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1) >>> 0
  return Math.floor(hash * lanes / 0x1_0000_0000)
}
