import fc from 'fast-check'
import { interpretRange } from '@codio/edge'
import {
  chunkCount, chunkSpan, chunksForRange, InvalidCidError, InvalidRangeError, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE,
  parseChunkId, parseContentId, chunkCid, manifestCid
} from '@codio/content'
import { formatFecSpec, InvalidFecParamsError, parseFecSpec, assertIngestFecCode } from '@codio/fec'
import { check, parse, type Target } from '../harness.js'

const num = fc.oneof(fc.nat(), fc.integer({ min: -5, max: 5 }), fc.constantFrom(NaN, Infinity, -Infinity, 0.5, 2 ** 53, 2 ** 53 + 2), fc.double())
const digits = fc.oneof(fc.nat({ max: 2000 }).map(String), fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String), fc.stringMatching(/^[0-9]{0,25}$/))
const spec = fc.oneof(
  fc.tuple(digits, digits).map(([a, b]) => `${a}-${b}`),
  digits.map(a => `${a}-`),
  digits.map(b => `-${b}`),
  fc.string({ maxLength: 12 })
)
const ws = fc.constantFrom('', ' ', '  ', '\t')
/** `bytes=` headers built from specs, with noise; and plain junk. */
const rangeHeader = fc.oneof(
  fc.tuple(fc.constantFrom('bytes', 'Bytes', 'items', 'bytes ', ''), fc.array(fc.tuple(ws, spec, ws).map(p => p.join('')), { minLength: 1, maxLength: 40 }))
    .map(([unit, specs]) => `${unit}=${specs.join(',')}`),
  fc.string({ maxLength: 200 }),
  fc.constant(undefined)
)

/** The edge's Range header (RFC 9110 §14.2): never throws; ranges lie inside, disjoint, coalesced. */
export const rangeHeaderTarget: Target = {
  name: 'http.range-header',
  property: () => fc.property(rangeHeader, fc.oneof(fc.nat({ max: 10_000 }), fc.nat(), fc.constant(2 ** 53 - 1)), (header, size) => {
    const r = parse('interpretRange', [], () => interpretRange(header, size))!
    if (r.kind !== 'ranges') return true
    check(r.ranges.length > 0, 'empty range list')
    // served in the order asked (range-parser keeps it), but pairwise disjoint and not adjacent
    let prevEnd = -2
    for (const { start, end } of [...r.ranges].sort((a, b) => a.start - b.start)) {
      check(Number.isSafeInteger(start) && Number.isSafeInteger(end), `non-integer range ${start}-${end}`)
      check(start >= 0 && start <= end && end < size, `range ${start}-${end} outside ${size} bytes`)
      check(start > prevEnd + 1, 'ranges not coalesced')
      prevEnd = end
    }
    return true
  })
}

/** Chunk spans and byte ranges against a layout: only InvalidRangeError; answers cover the range. */
export const chunkRangeTarget: Target = {
  name: 'http.chunk-range',
  property: () => fc.property(
    fc.nat({ max: 2 ** 40 }), fc.integer({ min: MIN_CHUNK_SIZE, max: MAX_CHUNK_SIZE }), num, num,
    (size, chunkSize, start, end) => {
      const m = { size, chunkSize }
      const span = parse('chunkSpan', [InvalidRangeError], () => chunkSpan(m, start))
      if (span !== undefined) check(span.start < span.end && span.end <= size, `span ${span.start}-${span.end} outside`)
      const r = parse('chunksForRange', [InvalidRangeError], () => chunksForRange(m, start, end))
      if (r === undefined) return true
      check(r.first <= r.last && r.last < chunkCount(m), `chunks ${r.first}..${r.last} outside`)
      check(chunkSpan(m, r.first).start <= start && chunkSpan(m, r.last).end > end, 'chunks do not cover the range')
      return true
    })
}

const validCids = fc.uint8Array({ maxLength: 64 }).chain(b => fc.constantFrom(chunkCid(b), manifestCid(b)))
const cidString = fc.oneof(
  fc.string({ maxLength: 80 }),
  validCids.map(c => c.toString()),
  validCids.map(c => c.toString()).chain(s => fc.tuple(fc.nat({ max: s.length }), fc.string({ maxLength: 3 })).map(([i, t]) => s.slice(0, i) + t + s.slice(i + t.length))),
  fc.constantFrom('QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG', 'zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA', 'bafy', 'b', 'z', '')
)

/** Content and chunk IDs from URLs and requests: only InvalidCidError; accepted IDs round-trip. */
export const contentIdTarget: Target = {
  name: 'http.content-id',
  property: () => fc.property(cidString, fc.uint8Array({ maxLength: 48 }), (s, bytes) => {
    const cid = parse('parseContentId', [InvalidCidError], () => parseContentId(s))
    if (cid !== undefined) check(parseContentId(cid.toString()).equals(cid), `content id ${s} does not round-trip`)
    const chunk = parse('parseChunkId(string)', [InvalidCidError], () => parseChunkId(s))
    if (chunk !== undefined) check(parseChunkId(chunk.bytes).equals(chunk), `chunk id ${s} does not round-trip`)
    const fromBytes = parse('parseChunkId(bytes)', [InvalidCidError], () => parseChunkId(bytes))
    if (fromBytes !== undefined) check(parseChunkId(fromBytes.toString()).equals(fromBytes), 'chunk id bytes do not round-trip')
    return true
  })
}

const fecString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.tuple(digits, fc.constantFrom('+', ' ', ' + ', '++', '-', ''), digits).map(([a, sep, b]) => `${a}${sep}${b}`),
  fc.constantFrom('none', 'NONE', ' off ', '10+4', '0+1', '1+0', '64+0', '32+32', '33+32')
)
const chunkSizeQuery = fc.oneof(fc.string({ maxLength: 12 }), digits, fc.constant('1e6'), fc.constant('0x100000'))

/** The origin's ingest query: `fec` (InvalidFecParamsError only; accepted specs round-trip) and `chunkSize`. */
export const ingestQueryTarget: Target = {
  name: 'http.ingest-query',
  property: () => fc.property(fecString, chunkSizeQuery, (s, cs) => {
    const code = parse('parseFecSpec', [InvalidFecParamsError], () => parseFecSpec(s))
    if (code !== undefined) {
      check(parseFecSpec(formatFecSpec(code))?.dataShards === code.dataShards, `fec ${s} does not round-trip`)
      parse('assertIngestFecCode', [InvalidFecParamsError], () => assertIngestFecCode(code, Number(cs)))
    }
    return true
  })
}

rangeHeaderTarget.seeds = () => [
  ['bytes=0-99', 1000], ['bytes=-500', 1000], ['bytes=900-', 1000], ['bytes=0-0,-1', 1000], ['bytes=0-10,5-20,30-40', 1000],
  ['bytes=1000-', 1000], ['bytes=0-99', 0], ['bytes=5-1', 100], ['bytes= 0-1 , 3-4 ', 100], ['Bytes=0-1', 100], ['items=0-1', 100],
  ['bytes=' + '0-1,'.repeat(200) + '0-1', 2 ** 53 - 1], ['bytes=0-99999999999999999999', 100], ['bytes=-0', 100], ['bytes=', 100], [undefined, 100], ['', 100]
].map(input => ({ note: `Range ${String(input[0]).slice(0, 40)} of ${input[1]} bytes`, input }))

chunkRangeTarget.seeds = () => [
  [0, MIN_CHUNK_SIZE, 0, 0], [1000, MIN_CHUNK_SIZE, 0, 999], [2 ** 40, MAX_CHUNK_SIZE, 2 ** 40 - 1, 2 ** 40 - 1], [1000, MIN_CHUNK_SIZE, 999, 0],
  [1000, MIN_CHUNK_SIZE, -1, 5], [1000, MIN_CHUNK_SIZE, NaN, 5], [1000, MIN_CHUNK_SIZE, 0.5, 5], [1000, MIN_CHUNK_SIZE, 0, Infinity], [1000, MIN_CHUNK_SIZE, 1000, 1000], [1000, MIN_CHUNK_SIZE, 2 ** 53 + 2, 5]
].map(input => ({ note: `size ${input[0]}, chunk ${input[1]}, bytes ${input[2]}-${input[3]}`, input }))

contentIdTarget.seeds = () => {
  const c = manifestCid(new Uint8Array([1]))
  const k = chunkCid(new Uint8Array([1]))
  return [
    [c.toString(), k.bytes], [k.toString(), c.bytes], [c.toString().toUpperCase(), new Uint8Array(0)], [c.toV1().toString().slice(0, -1), k.bytes.subarray(0, 10)],
    ['QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG', new Uint8Array(36)], ['zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA', Uint8Array.of(1, 0x55, 0x12, 0x20)],
    ['b' + 'a'.repeat(500), new Uint8Array(300).fill(1)], ['', new Uint8Array(0)], ['../../etc/passwd', Uint8Array.of(0)], ['bafy%00', Uint8Array.of(0xff)]
  ].map(input => ({ note: `content/chunk id ${String(input[0]).slice(0, 40)}`, input }))
}

ingestQueryTarget.seeds = () => [
  ['10+4', '1048576'], ['none', ''], ['10 4', '1048576'], ['1+255', '16384'], ['2+254', '8388608'], ['0+1', '1'], ['64+0', '1e6'], ['33+32', '0x100000'],
  ['99999999999999999999+1', '-1'], ['+', 'abc'], ['1++1', ' 1 '], ['NONE', '4194304']
].map(input => ({ note: `fec=${input[0]} chunkSize=${input[1]}`, input }))
