import { rsEncode } from '@codio/native'
import { FecRebuildError } from './errors.js'
import { assertFecCode, type FecCode } from './params.js'

/**
 * Streaming Reed-Solomon encoder for an ingest: feed data chunks in order with {@link push};
 * whenever k chunks make a group, it returns that group's m parity shards, then forgets the
 * group. Memory is one group (k chunks). Coding runs off the JavaScript thread in the native
 * addon (GF(2^8), Backblaze/klauspost Vandermonde construction, poly 0x11D), and follows
 * {@link FecGroupLayout}: shards are as long as the group's first chunk, a shorter final chunk
 * is zero-padded, a final partial group is shortened (its absent data shards are zeros).
 */
export class FecEncoder {
  readonly code: FecCode
  private group: Uint8Array[] = []

  /** @throws InvalidFecParamsError */
  constructor (code: FecCode) {
    assertFecCode(code)
    this.code = code
  }

  /**
   * Add the next data chunk (the encoder keeps a reference until its group is coded: do not
   * modify it before then).
   *
   * @returns the m parity shards when `chunk` completes a group, else `undefined`
   * @throws FecRebuildError if the chunk is longer than the group's first chunk, or empty
   */
  async push (chunk: Uint8Array): Promise<Uint8Array[] | undefined> {
    if (chunk.byteLength === 0) throw new FecRebuildError('cannot code an empty chunk')
    if (this.group.length > 0 && chunk.byteLength > this.group[0].byteLength) {
      throw new FecRebuildError(`chunk of ${chunk.byteLength} bytes follows one of ${this.group[0].byteLength} in the same FEC group`)
    }
    this.group.push(chunk)
    if (this.group.length < this.code.dataShards) return undefined
    return await this.encodeGroup()
  }

  /** The parity of the final, partial group, or `undefined` when there is none. */
  async flush (): Promise<Uint8Array[] | undefined> {
    if (this.group.length === 0) return undefined
    return await this.encodeGroup()
  }

  private async encodeGroup (): Promise<Uint8Array[]> {
    const data = this.group
    this.group = []
    const shardSize = data[0].byteLength
    const shards = data.map(d => padded(d, shardSize))
    while (shards.length < this.code.dataShards) shards.push(Buffer.alloc(shardSize))
    return await rsEncode(shards, this.code.parityShards)
  }
}

/** `bytes` as a Buffer of exactly `size` bytes: a view when it already is, else a zero-padded copy. */
export function padded (bytes: Uint8Array, size: number): Buffer {
  if (bytes.byteLength === size) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out = Buffer.alloc(size)
  out.set(bytes)
  return out
}
