/**
 * Writers that never share rows: FLUSH_CONCURRENCY lanes, each a ring that writes one flush at a
 * time, and every request goes to the lane its first event's user hashes to. Two flushes in flight
 * then never upsert the same user or claim the same session, so they never wait on each other's
 * row locks — a hot user's updates queue in its lane instead of in PostgreSQL's lock manager.
 * A /data/batch request stays one item, so it is still one transaction; when its events span
 * users of several lanes, it may meet another lane's flush on a row and wait for it (both take
 * keys in the same order, so they cannot deadlock). The lanes share one capacity.
 */
import { RingBuffer, type RingBufferOptions } from './ring-buffer.js'

export interface LanesOptions<T> extends Omit<RingBufferOptions<T>, 'concurrency'> {
  lanes: number
  /** The key an item is routed by (the user id); items with one key always share a lane. */
  keyOf: (item: T) => number
}

export class Lanes<T> {
  readonly capacity: number
  readonly #rings: Array<RingBuffer<T>>
  readonly #keyOf: (item: T) => number
  readonly #weigh: (item: T) => number

  constructor ({ lanes, keyOf, ...ring }: LanesOptions<T>) {
    if (!Number.isSafeInteger(lanes) || lanes < 1) throw new TypeError(`lanes must be a positive integer, got ${lanes}`)
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
    if (this.size + this.#weigh(item) > this.capacity) return false
    return this.#rings[laneOf(this.#keyOf(item), this.#rings.length)]!.push(item)
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
