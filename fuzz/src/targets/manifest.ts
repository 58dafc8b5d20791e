import fc from 'fast-check'
import * as dagCbor from '@ipld/dag-cbor'
import {
  CID, chunkCid, decodeManifest, encodeManifest, InvalidManifestError, InvalidSignatureError, ManifestDecodeError,
  MIN_CHUNK_SIZE, signManifest, UntrustedPublisherError, verifyManifest, type Manifest
} from '@codio/content'
import { generateKeyPair, TrustedKeys, type PublisherKeyPair } from '@codio/signing'
import { anyBytes, check, equalBytes, mutated, parse, parseAsync, type Target } from '../harness.js'

interface Fixture { kp: PublisherKeyPair, trusted: TrustedKeys, manifest: Manifest, bytes: Uint8Array }
let fixture: Promise<Fixture> | undefined

/** One signed manifest (3 chunks of MIN_CHUNK_SIZE) and the key set trusting its publisher. */
async function signedFixture (): Promise<Fixture> {
  fixture ??= (async () => {
    const kp = await generateKeyPair()
    const chunks = [0, 1, 2].map(i => chunkCid(new Uint8Array([i])))
    const manifest = await signManifest({
      version: 1, size: 3 * MIN_CHUNK_SIZE - 7, mediaType: 'video/mp4', chunkSize: MIN_CHUNK_SIZE, chunks, createdAt: 1_700_000_000_000, publisher: kp.publicKey
    }, kp)
    return { kp, trusted: new TrustedKeys([kp.publicKey]), manifest, bytes: encodeManifest(manifest) }
  })()
  return await fixture
}

const cid = fc.oneof(
  fc.uint8Array({ maxLength: 8 }).map(b => chunkCid(b)),
  fc.constant(CID.parse('bafyreicl6ujc6ncfktctxxroxognfn7d2fqavvrryoc2lv6m4i6hpbkfti')),
  fc.constant(CID.parse('QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'))
)
/** DAG-CBOR values of the kinds a manifest field might be given instead of the right one. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(), fc.constantFrom(-1, 0, 1, 2 ** 53, -(2 ** 53), 1.5, 2 ** 64), fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null),
  fc.uint8Array({ maxLength: 70 }), cid, fc.array(cid, { maxLength: 4 }), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 })
)
const groups = fc.oneof(
  fc.array(fc.record({ parity: fc.array(cid, { maxLength: 4 }) }), { maxLength: 4 }),
  fc.array(fc.oneof(junk, fc.record({ parity: junk }), fc.record({ parity: fc.array(cid), extra: junk })), { maxLength: 3 }),
  junk
)
/**
 * Maps with (mostly) the manifest's keys, each holding a plausible or a wrong value: reaches
 * the field checks that arbitrary bytes rarely get past the CBOR decoder to.
 */
const nearManifest = fc.record({
  v: fc.oneof(fc.constant(1), junk),
  size: fc.oneof(fc.nat({ max: 3 * MIN_CHUNK_SIZE }), junk),
  type: fc.oneof(fc.constant('video/mp4'), junk),
  chunkSize: fc.oneof(fc.constant(MIN_CHUNK_SIZE), junk),
  chunks: fc.oneof(fc.array(cid, { maxLength: 5 }), junk),
  created: fc.oneof(fc.nat(), junk),
  publisher: fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), junk),
  sig: fc.oneof(fc.uint8Array({ minLength: 64, maxLength: 64 }), junk),
  fec: fc.oneof(fc.record({ k: fc.oneof(fc.integer({ min: 0, max: 300 }), junk), m: fc.oneof(fc.integer({ min: 0, max: 300 }), junk), groups }), junk),
  extra: junk
}, { requiredKeys: ['v', 'size', 'type', 'chunkSize', 'chunks', 'created', 'publisher', 'sig'] }).map(node => {
  try {
    return dagCbor.encode(node)
  } catch {
    return new Uint8Array(0) // e.g. a non-integer DAG-CBOR cannot hold as given
  }
})

const DECODE_ERRORS = [ManifestDecodeError]
const VERIFY_ERRORS = [InvalidManifestError, UntrustedPublisherError, InvalidSignatureError]

/**
 * Manifest bytes from the network: arbitrary bytes and mutations of a valid signed manifest
 * decode to ManifestDecodeError or a manifest that re-encodes to the same bytes; a mutation
 * never verifies unless the bytes are unchanged.
 */
export const manifestTarget: Target = {
  name: 'wire.manifest',
  property: async () => {
    const f = await signedFixture()
    return fc.asyncProperty(fc.oneof(anyBytes(), mutated(f.bytes), nearManifest), async input => {
      const m = parse('decodeManifest', DECODE_ERRORS, () => decodeManifest(input))
      if (m === undefined) return true
      check(equalBytes(encodeManifest(m), input), 'an accepted manifest does not re-encode to its bytes')
      const ok = await parseAsync('verifyManifest', VERIFY_ERRORS, async () => { await verifyManifest(m, f.trusted); return true })
      check(ok !== true || equalBytes(input, f.bytes), 'a changed manifest verified')
      return true
    })
  }
}

const mediaType = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([a, b, p]) => `${a}/${b}${p}`),
  fc.constantFrom('video/mp4', 'text/plain; charset=utf-8', 'a/b', '/', 'x/', ' a/b', 'a/b\u00e9', 'a'.repeat(250) + '/b', 'a'.repeat(260) + '/b')
)

/** Media types and chunk sizes a client names at ingest: InvalidManifestError or a manifest that round-trips. */
export const mediaTypeTarget: Target = {
  name: 'http.media-type',
  property: async () => {
    const f = await signedFixture()
    return fc.asyncProperty(mediaType, fc.oneof(fc.constant(MIN_CHUNK_SIZE), fc.integer()), async (type, chunkSize) => {
      const unsigned = { ...f.manifest, mediaType: type, chunkSize, size: 3 * chunkSize - 7, signature: undefined }
      delete unsigned.signature
      const m = await parseAsync('signManifest', [InvalidManifestError], async () => await signManifest(unsigned, f.kp))
      if (m === undefined) return true
      const back = decodeManifest(encodeManifest(m))
      check(back.mediaType === type && back.chunkSize === chunkSize, 'media type does not round-trip')
      await verifyManifest(back, f.trusted)
      return true
    })
  }
}

manifestTarget.seeds = async () => {
  const f = await signedFixture()
  const valid = f.bytes
  const cut = (n: number): Uint8Array => valid.subarray(0, n)
  return [
    { note: 'a valid signed manifest (its key is not trusted in another run: verify refuses it)', input: [valid] },
    { note: 'the manifest cut in half', input: [cut(valid.byteLength >> 1)] },
    { note: 'its last byte changed', input: [Uint8Array.from(valid, (b, i) => i === valid.byteLength - 1 ? b ^ 1 : b)] },
    { note: 'empty', input: [new Uint8Array(0)] },
    { note: 'CBOR null', input: [Uint8Array.of(0xf6)] },
    { note: 'a CBOR array header claiming 2^32 items', input: [Uint8Array.of(0x9a, 0xff, 0xff, 0xff, 0xff)] },
    { note: 'a CBOR byte string header claiming 2^64 - 1 bytes', input: [Uint8Array.of(0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)] },
    { note: 'a map of the manifest keys with a wrong type', input: [dagCbor.encode({ v: 1, size: 'x', type: 'video/mp4', chunkSize: MIN_CHUNK_SIZE, chunks: [], created: 0, publisher: new Uint8Array(32), sig: new Uint8Array(64) })] },
    { note: 'FEC groups of 255 parity chunks', input: [dagCbor.encode({ v: 1, size: 10, type: 'a/b', chunkSize: MIN_CHUNK_SIZE, chunks: [chunkCid(new Uint8Array([1]))], created: 0, publisher: new Uint8Array(32), sig: new Uint8Array(64), fec: { k: 1, m: 255, groups: [{ parity: Array.from({ length: 255 }, (_, i) => chunkCid(Uint8Array.of(i))) }] } })] }
  ]
}

mediaTypeTarget.seeds = () => [
  ['video/mp4', MIN_CHUNK_SIZE], ['text/plain; charset=utf-8', MIN_CHUNK_SIZE], ['a'.repeat(250) + '/b', MIN_CHUNK_SIZE], ['a'.repeat(260) + '/b', MIN_CHUNK_SIZE],
  ['/', MIN_CHUNK_SIZE], ['a/b\r\nX-Injected: 1', MIN_CHUNK_SIZE], ['video/mp4', 0], ['video/mp4', -1], ['video/mp4', 2 ** 31]
].map(input => ({ note: `type ${String(input[0]).slice(0, 30)}, chunk size ${input[1]}`, input }))
