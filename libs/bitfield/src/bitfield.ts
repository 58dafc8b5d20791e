const clz32 = Math.clz32

/**
 * Which pieces a peer has, as a packed bit array in the BEP 3 `bitfield` message layout:
 * piece i is bit `7 − i % 8` (most significant first) of byte `i >> 3`, `ceil(size / 8)`
 * bytes, the spare bits at the end zero. The set-bit count is kept, so {@link count} and
 * {@link isFull} are O(1).
 */
export class Bitfield {
  readonly size: number
  private readonly bytes: Uint8Array
  private ones = 0

  /**
   * @param size - number of pieces (integer ≥ 0)
   * @param bytes - initial contents in wire layout (copied), as for {@link Bitfield.fromBytes}
   * @throws RangeError for a bad size, or `bytes` of the wrong length or with spare bits set
   */
  constructor (size: number, bytes?: Uint8Array) {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`bitfield size must be an integer ≥ 0, got ${size}`)
    this.size = size
    const length = Bitfield.byteLength(size)
    if (bytes === undefined) {
      this.bytes = new Uint8Array(length)
      return
    }
    if (!(bytes instanceof Uint8Array)) throw new TypeError('bitfield bytes must be a Uint8Array')
    if (bytes.byteLength !== length) throw new RangeError(`a bitfield of ${size} pieces is ${length} bytes, got ${bytes.byteLength}`)
    if (spareBitsSet(bytes, size)) throw new RangeError(`bitfield of ${size} pieces has spare bits set in its last byte`)
    this.bytes = Uint8Array.from(bytes)
    for (const b of this.bytes) this.ones += popcount8(b)
  }

  /** Bytes a bitfield of `size` pieces takes on the wire: `ceil(size / 8)`. */
  static byteLength (size: number): number {
    return Math.ceil(size / 8)
  }

  /**
   * Why `bytes` is not a valid bitfield of `size` pieces (BEP 3: the wrong length, or a spare
   * bit set), or `undefined` when it is one: a check for untrusted input that throws nothing.
   */
  static problem (bytes: Uint8Array, size: number): string | undefined {
    const want = Bitfield.byteLength(size)
    if (bytes.byteLength !== want) return `bitfield is ${bytes.byteLength} bytes, ${want} expected for ${size} pieces`
    if (spareBitsSet(bytes, size)) return 'bitfield has spare bits set'
    return undefined
  }

  /** A bitfield of `size` pieces, all set (a seeder's). @throws RangeError for a bad size */
  static full (size: number): Bitfield {
    const bf = new Bitfield(size)
    bf.bytes.fill(0xff)
    if (size % 8 !== 0) bf.bytes[bf.bytes.length - 1] = (0xff << (8 - size % 8)) & 0xff
    bf.ones = size
    return bf
  }

  /**
   * Parse a BEP 3 `bitfield` payload.
   *
   * @throws RangeError if `bytes` is not `ceil(size / 8)` long or has a spare bit set (BEP 3:
   * "clients should drop the connection if they receive bitfields that are not of the correct
   * size, or if the bitfield has any of the spare bits set")
   */
  static fromBytes (size: number, bytes: Uint8Array): Bitfield {
    return new Bitfield(size, bytes)
  }

  /** @throws RangeError unless `i` is an integer in [0, size) */
  has (i: number): boolean {
    this.check(i)
    return (this.bytes[i >> 3] & (0x80 >> (i & 7))) !== 0
  }

  /** Mark piece `i` present (idempotent). @throws RangeError unless `i` is in [0, size) */
  set (i: number): void {
    this.check(i)
    const mask = 0x80 >> (i & 7)
    if ((this.bytes[i >> 3] & mask) !== 0) return
    this.bytes[i >> 3] |= mask
    this.ones++
  }

  /** Mark piece `i` absent (idempotent). @throws RangeError unless `i` is in [0, size) */
  clear (i: number): void {
    this.check(i)
    const mask = 0x80 >> (i & 7)
    if ((this.bytes[i >> 3] & mask) === 0) return
    this.bytes[i >> 3] &= ~mask
    this.ones--
  }

  /** Pieces present. */
  count (): number {
    return this.ones
  }

  isFull (): boolean {
    return this.ones === this.size
  }

  /**
   * The lowest present piece at or after `from`, or -1 when there is none. Skips whole empty
   * bytes, so walking a sparse field with it costs O(size / 8 + count).
   */
  nextSet (from: number): number {
    if (from < 0) from = 0
    if (from >>> 0 !== from) throw new RangeError(`piece index ${from} is not an integer`)
    if (from >= this.size) return -1
    let byte = from >> 3
    let b = this.bytes[byte] & (0xff >> (from & 7))
    while (b === 0) {
      if (++byte >= this.bytes.length) return -1
      b = this.bytes[byte]
    }
    return (byte << 3) + clz32(b) - 24
  }

  /** The present pieces in increasing order (O(size / 8 + count)). */
  * indexes (): Generator<number> {
    for (let i = this.nextSet(0); i !== -1; i = this.nextSet(i + 1)) yield i
  }

  /** A copy in wire layout (a BEP 3 `bitfield` payload). */
  toBytes (): Uint8Array {
    return Uint8Array.from(this.bytes)
  }

  /** An independent copy. */
  clone (): Bitfield {
    const bf = new Bitfield(this.size)
    bf.bytes.set(this.bytes)
    bf.ones = this.ones
    return bf
  }

  private check (i: number): void {
    // `>>> 0` rejects fractions, negatives, NaN and non-numbers without a global lookup (hot path)
    if (i >>> 0 !== i || i >= this.size) throw new RangeError(`piece index ${i} out of range [0, ${this.size})`)
  }
}

function popcount8 (b: number): number {
  b = b - ((b >> 1) & 0x55)
  b = (b & 0x33) + ((b >> 2) & 0x33)
  return (b + (b >> 4)) & 0x0f
}

/** Whether a bitfield of `size` pieces, `bytes` long enough, has a bit set past its last piece. */
function spareBitsSet (bytes: Uint8Array, size: number): boolean {
  return size % 8 !== 0 && (bytes[Bitfield.byteLength(size) - 1] & (0xff >> (size % 8))) !== 0
}
