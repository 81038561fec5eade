/**
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids made close in time sort
 * close together, so the database's (event_id, timestamp) index grows at its end instead of at
 * random pages, and any retry of an event carries the id it was given at track().
 */
import { randomFillSync } from 'node:crypto'

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const bytes = new Uint8Array(16)

export function uuidv7 (now = Date.now()): string {
  randomFillSync(bytes, 6, 10)
  // 48-bit big-endian milliseconds; JavaScript's bit operators stop at 32 bits, so split it.
  const high = Math.floor(now / 0x1_0000_0000)
  const low = now >>> 0
  bytes[0] = (high >>> 8) & 0xff
  bytes[1] = high & 0xff
  bytes[2] = (low >>> 24) & 0xff
  bytes[3] = (low >>> 16) & 0xff
  bytes[4] = (low >>> 8) & 0xff
  bytes[5] = low & 0xff
  bytes[6] = (bytes[6]! & 0x0f) | 0x70 // version 7
  bytes[8] = (bytes[8]! & 0x3f) | 0x80 // variant 10
  let text = ''
  for (let i = 0; i < 16; i++) {
    text += HEX[bytes[i]!]!
    if (i === 3 || i === 5 || i === 7 || i === 9) text += '-'
  }
  return text
}
