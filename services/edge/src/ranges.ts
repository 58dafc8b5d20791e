import parseRange from 'range-parser'
import type { ByteRange as ContentRange } from '@codio/peer'

/** One satisfiable byte range, inclusive on both ends (RFC 9110 §14.1.2). */
export interface ByteRange extends ContentRange {
  /** multipart part header written before the bytes, when several ranges are sent */
  header?: string
}

export type RangeRequest =
  | { kind: 'full' }
  | { kind: 'ranges', ranges: ByteRange[] }
  | { kind: 'unsatisfiable' }

/**
 * Interpret a `Range` header against a representation of `size` bytes (RFC 9110 §14.2).
 * Overlapping and adjacent ranges are coalesced. A header that does not parse, or uses a
 * unit other than bytes, is ignored (the full representation is sent), as §14.2 allows.
 */
export function interpretRange (header: string | undefined, size: number): RangeRequest {
  if (header == null || header === '') return { kind: 'full' }
  const parsed = parseRange(size, header, { combine: true })
  if (parsed === -2) return { kind: 'full' }
  if (parsed === -1) return { kind: 'unsatisfiable' }
  if (parsed.type !== 'bytes') return { kind: 'full' }
  return { kind: 'ranges', ranges: parsed.map(r => ({ start: r.start, end: r.end })) }
}
