import { describe, it, expect } from '@jest/globals'
import { CID } from 'multiformats/cid'
import { create } from 'multiformats/hashes/digest'
import { MANIFEST_FIXED_BYTES, MAX_MANIFEST_BYTES, MAX_MEDIA_TYPE_LENGTH, MIN_CHUNK_SIZE, RAW_CODEC, SHA2_256_CODE } from '../src/constants.js'
import { encodeManifest } from '../src/encode-manifest.js'
import { InvalidManifestError } from '../src/errors.js'
import { manifestSizeBound, maxManifestChunks } from '../src/manifest-size.js'
import type { Manifest } from '../src/manifest.js'

/** `n` distinct chunk CIDs (their bytes need not exist: only the encoding is measured). */
function cids (n: number, salt: number): CID[] {
  const out: CID[] = []
  for (let i = 0; i < n; i++) {
    const d = new Uint8Array(32)
    new DataView(d.buffer).setUint32(0, i)
    d[31] = salt
    out.push(CID.createV1(RAW_CODEC, create(SHA2_256_CODE, d)))
  }
  return out
}

/** The largest manifest of `chunks` chunks: longest media type, large numbers, 64-byte signature. */
function manifest (chunks: number, fec?: { dataShards: number, parityShards: number }): Manifest {
  const data = cids(chunks, 1)
  const groups = fec == null ? undefined : Array.from({ length: Math.ceil(chunks / fec.dataShards) }, (_, g) => ({ parity: cids(fec.parityShards, 2 + g % 200) }))
  return {
    version: 1,
    size: chunks * MIN_CHUNK_SIZE,
    mediaType: 'a/' + 'x'.repeat(MAX_MEDIA_TYPE_LENGTH - 2),
    chunkSize: MIN_CHUNK_SIZE,
    chunks: data,
    ...(fec == null ? {} : { fec: { ...fec, groups: groups! } }),
    createdAt: Date.now(),
    publisher: new Uint8Array(32).fill(7),
    signature: new Uint8Array(64).fill(9)
  }
}

describe('manifest size limit (what the chunk exchange carries)', () => {
  it('bounds the encoding from above, within the fixed allowance', () => {
    for (const [n, fec] of [[1, undefined], [1000, undefined], [999, { dataShards: 10, parityShards: 4 }], [50, { dataShards: 1, parityShards: 1 }]] as const) {
      const bytes = encodeManifest(manifest(n, fec)).byteLength
      expect(bytes).toBeLessThanOrEqual(manifestSizeBound(n, fec))
      expect(manifestSizeBound(n, fec) - bytes).toBeLessThan(MANIFEST_FIXED_BYTES)
    }
  })

  it('encodes a manifest of maxManifestChunks() chunks within MAX_MANIFEST_BYTES; past the limit, refuses to encode', () => {
    const max = maxManifestChunks()
    expect(manifestSizeBound(max)).toBeLessThanOrEqual(MAX_MANIFEST_BYTES)
    expect(manifestSizeBound(max + 1)).toBeGreaterThan(MAX_MANIFEST_BYTES)
    expect(encodeManifest(manifest(max)).byteLength).toBeLessThanOrEqual(MAX_MANIFEST_BYTES)
    const over = Math.ceil(MAX_MANIFEST_BYTES / 41) + 1
    expect(() => encodeManifest(manifest(over))).toThrow(InvalidManifestError)
    expect(() => encodeManifest(manifest(over))).toThrow(/exceeds the limit of 8388608 bytes/)
  })

  it('counts parity CIDs: with FEC 1+1 half as many chunks fit', () => {
    const fec = { dataShards: 1, parityShards: 1 }
    const max = maxManifestChunks(fec)
    expect(max).toBeLessThan(maxManifestChunks() / 2)
    expect(encodeManifest(manifest(max, fec)).byteLength).toBeLessThanOrEqual(MAX_MANIFEST_BYTES)
    expect(manifestSizeBound(max + 1, fec)).toBeGreaterThan(MAX_MANIFEST_BYTES)
  })
})
