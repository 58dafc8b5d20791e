import { describe, it, expect } from '@jest/globals'
import * as dagCbor from '@ipld/dag-cbor'
import { TrustedKeys } from '@codio/signing'
import { chunkCid } from '../src/chunk-cid.js'
import { manifestCid } from '../src/content-id.js'
import { MIN_CHUNK_SIZE } from '../src/constants.js'
import { encodeManifest, manifestSigningBytes } from '../src/encode-manifest.js'
import { decodeManifest } from '../src/decode-manifest.js'
import { signManifest } from '../src/sign-manifest.js'
import { verifyManifest } from '../src/verify-manifest.js'
import {
  InvalidManifestError, InvalidSignatureError, ManifestDecodeError, UntrustedPublisherError
} from '../src/errors.js'
import type { Manifest } from '../src/manifest.js'
import { bytesOf, generateKeyPair, unsignedFor } from './helpers.js'

const CS = MIN_CHUNK_SIZE

async function signed (size = 2 * CS + 100): Promise<{ m: Manifest, trusted: TrustedKeys, kp: Awaited<ReturnType<typeof generateKeyPair>> }> {
  const kp = await generateKeyPair()
  const m = await signManifest(unsignedFor(bytesOf(size), CS, kp), kp)
  return { m, trusted: new TrustedKeys([kp.publicKey]), kp }
}

/** Decodes `bytes` to the data model, lets `edit` change it, re-encodes canonically. */
function reencode (bytes: Uint8Array, edit: (node: Record<string, any>) => void): Uint8Array {
  const node = dagCbor.decode(bytes) as Record<string, any>
  edit(node)
  return dagCbor.encode(node)
}

function decodeError (bytes: Uint8Array): ManifestDecodeError {
  try {
    decodeManifest(bytes)
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestDecodeError)
    expect((err as Error).name).toBe('ManifestDecodeError')
    return err as ManifestDecodeError
  }
  throw new Error('decodeManifest accepted malformed bytes')
}

describe('encodeManifest / decodeManifest', () => {
  it('round trips a signed manifest', async () => {
    const { m } = await signed()
    const back = decodeManifest(encodeManifest(m))
    expect(back.size).toBe(m.size)
    expect(back.mediaType).toBe(m.mediaType)
    expect(back.chunkSize).toBe(CS)
    expect(back.createdAt).toBe(m.createdAt)
    expect(back.chunks.map(String)).toEqual(m.chunks.map(String))
    expect(back.publisher).toEqual(m.publisher)
    expect(back.signature).toEqual(m.signature)
    expect(back.fec).toBeUndefined()
  })

  it('uses the short wire keys', async () => {
    const { m } = await signed()
    const node = dagCbor.decode(encodeManifest(m)) as Record<string, unknown>
    expect(Object.keys(node).sort()).toEqual(['chunkSize', 'chunks', 'created', 'publisher', 'sig', 'size', 'type', 'v'])
  })

  it('is deterministic: same manifest, same bytes, same content ID', async () => {
    const { m } = await signed()
    const shuffled: Manifest = {
      signature: m.signature, publisher: m.publisher.slice(), createdAt: m.createdAt, chunks: [...m.chunks],
      chunkSize: m.chunkSize, mediaType: m.mediaType, size: m.size, version: 1
    }
    const a = encodeManifest(m)
    const b = encodeManifest(shuffled)
    expect(b).toEqual(a)
    expect(manifestCid(a).toString()).toBe(manifestCid(b).toString())
    expect(manifestCid(a).toString()).toMatch(/^bafyrei/)
    expect(encodeManifest(decodeManifest(a))).toEqual(a)
  })

  it('accepts empty content: size 0, no chunks', async () => {
    const { m, trusted } = await signed(0)
    expect(m.chunks).toEqual([])
    const back = decodeManifest(encodeManifest(m))
    expect(back.size).toBe(0)
    await verifyManifest(back, trusted)
  })

  it('round trips FEC parameters', async () => {
    const kp = await generateKeyPair()
    const unsigned = unsignedFor(bytesOf(5 * CS), CS, kp)
    const parity = (g: number, i: number): ReturnType<typeof chunkCid> => chunkCid(Uint8Array.of(g, i))
    unsigned.fec = { dataShards: 4, parityShards: 2, groups: [{ parity: [parity(0, 0), parity(0, 1)] }, { parity: [parity(1, 0), parity(1, 1)] }] }
    const m = await signManifest(unsigned, kp)
    const back = decodeManifest(encodeManifest(m))
    expect(back.fec?.dataShards).toBe(4)
    expect(back.fec?.parityShards).toBe(2)
    expect(back.fec?.groups.map(g => g.parity.map(String))).toEqual(unsigned.fec.groups.map(g => g.parity.map(String)))
    await verifyManifest(back, new TrustedKeys([kp.publicKey]))
  })

  it('refuses to encode or sign an invalid manifest', async () => {
    const { m, kp } = await signed()
    expect(() => encodeManifest({ ...m, size: m.size + CS })).toThrow(InvalidManifestError)
    expect(() => encodeManifest({ ...m, mediaType: 'text/html\r\nX-Evil: 1' })).toThrow(InvalidManifestError)
    await expect(signManifest({ ...m, chunkSize: 1000 }, kp)).rejects.toBeInstanceOf(InvalidManifestError)
    const other = await generateKeyPair()
    await expect(signManifest(m, other)).rejects.toThrow(/publisher is not the public key/)
  })
})

describe('decodeManifest rejects malformed manifests with ManifestDecodeError', () => {
  it('rejects each rule violation with its reason', async () => {
    const { m } = await signed()
    const good = encodeManifest(m)
    const raw = chunkCid(Uint8Array.of(1))
    const dagCborCid = manifestCid(Uint8Array.of(1))
    const cases: Array<[string, (n: Record<string, any>) => void, RegExp]> = [
      ['wrong version', n => { n.v = 2 }, /version/],
      ['unknown key', n => { n.extra = 1 }, /unknown keys: extra/],
      ['missing key', n => { delete n.created }, /missing keys: created/],
      ['size is a string', n => { n.size = '100' }, /size must be a safe non-negative integer/],
      ['size negative', n => { n.size = -1 }, /size must be a safe non-negative integer/],
      ['size not safe', n => { n.size = 2 ** 60 }, /size must be a safe non-negative integer/],
      ['size a float', n => { n.size = 1.5 }, /size must be a safe non-negative integer/],
      ['type not a string', n => { n.type = 5 }, /mediaType must be a string/],
      ['chunkSize too small', n => { n.chunkSize = 1024; n.chunks = n.chunks.concat(Array(100).fill(raw)) }, /chunkSize must be an integer/],
      ['chunkSize too big', n => { n.chunkSize = 16 * 1024 * 1024 }, /chunkSize must be an integer/],
      ['chunk count too small', n => { n.chunks.pop() }, /chunks has 2 entries, expected .* = 3/],
      ['chunk count too big', n => { n.chunks.push(raw) }, /chunks has 4 entries/],
      ['chunks not an array', n => { n.chunks = raw }, /chunks must be an array/],
      ['chunk not raw', n => { n.chunks[1] = dagCborCid }, /chunks\[1\].*codec raw/],
      ['chunk not a CID', n => { n.chunks[0] = new Uint8Array(36) }, /chunks\[0\] is not a CID/],
      ['publisher short', n => { n.publisher = n.publisher.subarray(1) }, /publisher must be 32 bytes/],
      ['publisher not bytes', n => { n.publisher = 'abc' }, /publisher must be 32 bytes/],
      ['sig short', n => { n.sig = n.sig.subarray(0, 63) }, /signature must be 64 bytes/],
      ['created negative', n => { n.created = -5 }, /createdAt must be/],
      ['fec bad k', n => { n.fec = { k: 0, m: 1, groups: [] } }, /fec.dataShards/],
      ['fec too many shards', n => { n.fec = { k: 200, m: 100, groups: [{ parity: [] }] } }, /≤ 256/],
      ['fec wrong group count', n => { n.fec = { k: 1, m: 1, groups: [] } }, /fec.groups has 0 entries, expected .* = 3/],
      ['fec unknown key', n => { n.fec = { k: 4, m: 1, groups: [{ parity: [raw] }], x: 1 } }, /unknown fec keys: x/],
      ['fec parity count', n => { n.fec = { k: 4, m: 2, groups: [{ parity: [raw] }] } }, /parity has 1 entries, expected 2/]
    ]
    for (const [name, edit, reason] of cases) {
      const err = decodeError(reencode(good, edit))
      expect([name, err.reason]).toEqual([name, expect.stringMatching(reason)])
    }
  })

  it('rejects bytes that are not DAG-CBOR, not a map, or not canonical', async () => {
    const { m } = await signed()
    const good = encodeManifest(m)
    expect(decodeError(new Uint8Array([0xff, 0x00])).reason).toMatch(/not DAG-CBOR/)
    expect(decodeError(good.subarray(0, good.length - 1)).reason).toMatch(/not DAG-CBOR/)
    expect(decodeError(dagCbor.encode([1, 2, 3])).reason).toMatch(/not a map/)
    // created = 1.0 written as a CBOR float64: decodes to the number 1, but the canonical
    // encoding of 1 is an integer, so these bytes would give the same manifest a second ID
    const node = dagCbor.decode(good) as Record<string, unknown>
    const body = dagCbor.encode({ ...node, created: 1.5 })
    const at = Buffer.from(body).indexOf(Buffer.from('fb3ff8000000000000', 'hex'))
    expect(at).toBeGreaterThan(0)
    const float = body.slice()
    float.set(Buffer.from('3ff0000000000000', 'hex'), at + 1)
    expect(decodeError(float).reason).toMatch(/canonical/)
  })
})

describe('signManifest / verifyManifest', () => {
  it('accepts a manifest signed by a trusted key, also after a round trip', async () => {
    const { m, trusted } = await signed()
    await expect(verifyManifest(m, trusted)).resolves.toBeUndefined()
    await expect(verifyManifest(decodeManifest(encodeManifest(m)), trusted)).resolves.toBeUndefined()
  })

  it('signs the domain-separated encoding without sig', async () => {
    const { m } = await signed()
    const bytes = manifestSigningBytes(m)
    expect(new TextDecoder().decode(bytes.subarray(0, 18))).toBe('codio-manifest-v1\n')
    const node = dagCbor.decode(bytes.subarray(18)) as Record<string, unknown>
    expect('sig' in node).toBe(false)
  })

  it('rejects a manifest whose size was changed and re-encoded', async () => {
    const { m, trusted } = await signed()
    const tampered = decodeManifest(reencode(encodeManifest(m), n => { n.size -= 1 }))
    await expect(verifyManifest(tampered, trusted)).rejects.toBeInstanceOf(InvalidSignatureError)
  })

  it('rejects a manifest with a chunk CID swapped and re-encoded', async () => {
    const { m, trusted } = await signed()
    const evil = chunkCid(new TextEncoder().encode('evil'))
    const tampered = decodeManifest(reencode(encodeManifest(m), n => { n.chunks[1] = evil }))
    const err = await verifyManifest(tampered, trusted).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidSignatureError)
    expect((err as Error).name).toBe('InvalidSignatureError')
  })

  it('rejects a manifest re-signed by an untrusted key', async () => {
    const { m, trusted } = await signed()
    const mallory = await generateKeyPair()
    const forged = await signManifest({ ...m, publisher: mallory.publicKey }, mallory)
    const err = await verifyManifest(forged, trusted).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UntrustedPublisherError)
    expect((err as UntrustedPublisherError).revoked).toBe(false)
  })

  it('rejects a manifest whose publisher field names a trusted key but was signed by another', async () => {
    const { m, trusted } = await signed()
    const mallory = await generateKeyPair()
    const forged = await signManifest({ ...m, publisher: mallory.publicKey }, mallory)
    await expect(verifyManifest({ ...forged, publisher: m.publisher }, trusted)).rejects.toBeInstanceOf(InvalidSignatureError)
  })

  it('rejects a manifest from a revoked key', async () => {
    const { m, trusted } = await signed()
    trusted.revoke(m.publisher)
    const err = await verifyManifest(m, trusted).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UntrustedPublisherError)
    expect((err as UntrustedPublisherError).revoked).toBe(true)
    expect((err as Error).message).toMatch(/revoked/)
  })
})
