/**
 * Chunk bitfields as in BEP 3 (the BitTorrent `bitfield` message): bit i set means chunk i is
 * held; chunk 0 is the high bit (0x80) of byte 0; the length is ceil(count / 8) bytes and the
 * spare bits at the end are zero.
 */

/** Bytes a bitfield of `count` chunks takes: ceil(count / 8). */
export function bitfieldLength (count: number): number {
  return Math.ceil(count / 8)
}

/** An all-zero bitfield for `count` chunks. */
export function emptyBitfield (count: number): Uint8Array {
  return new Uint8Array(bitfieldLength(count))
}

/** A bitfield with every one of `count` chunks set (spare bits zero). */
export function fullBitfield (count: number): Uint8Array {
  const bits = new Uint8Array(bitfieldLength(count)).fill(0xff)
  const spare = bits.length * 8 - count
  if (spare > 0) bits[bits.length - 1] = (0xff << spare) & 0xff
  return bits
}

/** Whether chunk `index` is set. Out-of-range indexes are not set. */
export function hasChunk (bits: Uint8Array, index: number): boolean {
  const byte = index >> 3
  return index >= 0 && byte < bits.length && (bits[byte] & (0x80 >> (index & 7))) !== 0
}

/** Set chunk `index` in place. @throws RangeError when it lies outside the bitfield */
export function setChunk (bits: Uint8Array, index: number): void {
  const byte = index >> 3
  if (index < 0 || byte >= bits.length) throw new RangeError(`chunk ${index} outside a bitfield of ${bits.length} bytes`)
  bits[byte] |= 0x80 >> (index & 7)
}

const POPCOUNT = new Uint8Array(256).map((_, i) => {
  let n = 0
  for (let v = i; v !== 0; v >>= 1) n += v & 1
  return n
})

/** Number of chunks set. */
export function countChunks (bits: Uint8Array): number {
  let n = 0
  for (const b of bits) n += POPCOUNT[b]
  return n
}

/**
 * Why `bits` is not a valid bitfield for `count` chunks (wrong length, spare bits set), or
 * `undefined` when it is. BEP 3: peers drop bitfields of the wrong size or with spare bits set.
 */
export function bitfieldProblem (bits: Uint8Array, count: number): string | undefined {
  const want = bitfieldLength(count)
  if (bits.length !== want) return `bitfield is ${bits.length} bytes, ${want} expected for ${count} chunks`
  const spare = want * 8 - count
  if (spare > 0 && (bits[want - 1] & ((1 << spare) - 1)) !== 0) return 'bitfield has spare bits set'
  return undefined
}

/**
 * The bitfield of a holding as the tracker reports it (`SelectedPeer`, `AvailabilityEntry`):
 * its own bits, or every chunk when it is `complete` (whose bitfield is sent empty).
 */
export function holdingBitfield (h: { complete: boolean, chunkCount: number, bitfield: Uint8Array }): Uint8Array {
  return h.complete ? fullBitfield(h.chunkCount) : h.bitfield
}
