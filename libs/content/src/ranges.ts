import { InvalidRangeError } from './errors.js'
import { chunkCount, type UnsignedManifest } from './manifest.js'

type Layout = Pick<UnsignedManifest, 'size' | 'chunkSize'>

/**
 * Byte offsets `[start, end)` of data chunk `index`: `start = index * chunkSize`,
 * `end = min(start + chunkSize, size)`.
 *
 * @throws InvalidRangeError unless `index` is an integer in [0, ceil(size / chunkSize))
 */
export function chunkSpan (m: Layout, index: number): { start: number, end: number } {
  const count = chunkCount(m)
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new InvalidRangeError(`chunk index ${index} outside [0, ${count})`)
  }
  const start = index * m.chunkSize
  return { start, end: Math.min(start + m.chunkSize, m.size) }
}

/**
 * The data chunks covering bytes `[start, endInclusive]` (inclusive like an RFC 9110 §14.1.2
 * byte-range-spec, already resolved against the content size).
 *
 * @returns chunk indexes `first..last`, inclusive
 * @throws InvalidRangeError unless `0 ≤ start ≤ endInclusive < size` (integers)
 */
export function chunksForRange (m: Layout, start: number, endInclusive: number): { first: number, last: number } {
  if (!Number.isInteger(start) || !Number.isInteger(endInclusive) || start < 0 || start > endInclusive || endInclusive >= m.size) {
    throw new InvalidRangeError(`byte range ${start}-${endInclusive} outside content of ${m.size} bytes`)
  }
  return { first: Math.floor(start / m.chunkSize), last: Math.floor(endInclusive / m.chunkSize) }
}
