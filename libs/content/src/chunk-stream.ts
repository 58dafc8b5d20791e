import { DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from './constants.js'
import { InvalidChunkSizeError } from './errors.js'

/**
 * Throws unless `chunkSize` is an integer in [MIN_CHUNK_SIZE, MAX_CHUNK_SIZE] bytes.
 *
 * @throws InvalidChunkSizeError
 */
export function assertChunkSize (chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new InvalidChunkSizeError(`chunk size must be an integer in [${MIN_CHUNK_SIZE}, ${MAX_CHUNK_SIZE}] bytes, got ${chunkSize}`)
  }
}

/**
 * Cuts a byte stream into fixed-size chunks: every chunk is exactly `chunkSize` bytes except
 * the last, which is shorter (never empty). Empty input yields nothing.
 *
 * Each yielded chunk is a fresh buffer, so callers may reuse the buffers they feed in, and
 * consumers may keep what they receive. At most one chunk is buffered.
 *
 * @param source - pieces of any size (including empty)
 * @param chunkSize - bytes, default 1 MiB
 * @throws InvalidChunkSizeError at call time if `chunkSize` is out of range
 */
export function chunkStream (source: AsyncIterable<Uint8Array>, chunkSize: number = DEFAULT_CHUNK_SIZE): AsyncGenerator<Uint8Array> {
  assertChunkSize(chunkSize)
  return generate(source, chunkSize)
}

async function * generate (source: AsyncIterable<Uint8Array>, chunkSize: number): AsyncGenerator<Uint8Array> {
  let chunk: Uint8Array | undefined
  let filled = 0
  for await (const piece of source) {
    let offset = 0
    while (offset < piece.length) {
      chunk ??= new Uint8Array(chunkSize)
      const n = Math.min(chunkSize - filled, piece.length - offset)
      chunk.set(piece.subarray(offset, offset + n), filled)
      filled += n
      offset += n
      if (filled === chunkSize) {
        const full = chunk
        chunk = undefined
        filled = 0
        yield full
      }
    }
  }
  // Copy the tail so its buffer is exactly its length.
  if (chunk !== undefined && filled > 0) yield chunk.slice(0, filled)
}
