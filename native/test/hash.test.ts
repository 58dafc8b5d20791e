import { describe, expect, it } from '@jest/globals'
import { createHash, randomBytes, randomInt } from 'node:crypto'
import { blake3, sha256, sha256Batch } from '../index.js'

const nodeSha = (b: Buffer): Buffer => createHash('sha256').update(b).digest()

describe('sha256', () => {
  it('known vectors (FIPS 180-2)', () => {
    expect(sha256(Buffer.alloc(0)).toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    )
    expect(sha256(Buffer.from('abc')).toString('hex')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    )
    expect(sha256(Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toString('hex')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'
    )
    expect(sha256(Buffer.alloc(1_000_000, 'a')).toString('hex')).toBe(
      'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'
    )
  })

  it('matches node:crypto on random inputs of many sizes (incl. block edges, Uint8Array views)', () => {
    for (const len of [1, 55, 56, 63, 64, 65, 127, 128, 1000, 4096, 16384, 65537, 1 << 20]) {
      const d = randomBytes(len)
      const got = sha256(d)
      expect(Buffer.isBuffer(got)).toBe(true)
      expect(got.length).toBe(32)
      expect(got.equals(nodeSha(d))).toBe(true)
    }
    const big = randomBytes(1000)
    const view = new Uint8Array(big.buffer, big.byteOffset + 3, 500)
    expect(sha256(view as Buffer).equals(nodeSha(Buffer.from(view)))).toBe(true)
  })

  it('sha256Batch equals per-item sha256, in order', async () => {
    for (const n of [0, 1, 2, 7, 300]) {
      const chunks = Array.from({ length: n }, () => randomBytes(randomInt(0, 40_000)))
      const got = await sha256Batch(chunks)
      expect(got).toHaveLength(n)
      got.forEach((h, i) => {
        expect(h.equals(sha256(chunks[i]))).toBe(true)
        expect(h.equals(nodeSha(chunks[i]))).toBe(true)
      })
    }
  })

  it('sha256Batch of large chunks (parallel path)', async () => {
    const chunks = Array.from({ length: 16 }, () => randomBytes(1 << 20))
    const got = await sha256Batch(chunks)
    got.forEach((h, i) => expect(h.equals(nodeSha(chunks[i]))).toBe(true))
  })
})

describe('blake3', () => {
  // Official BLAKE3 test vectors (test_vectors.json: input[i] = i % 251), first 32 bytes.
  const input = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => i % 251))
  it.each([
    [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
    [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
    [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
    [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
    [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
    [102400, 'bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085']
  ])('known vector, %i bytes', (n, hex) => {
    expect(blake3(input(n)).toString('hex')).toBe(hex)
  })

  it('"abc"', () => {
    expect(blake3(Buffer.from('abc')).toString('hex')).toBe(
      '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85'
    )
  })

  it('is deterministic and length-sensitive', () => {
    const d = randomBytes(5000)
    expect(blake3(d).equals(blake3(Buffer.from(d)))).toBe(true)
    expect(blake3(d).equals(blake3(d.subarray(0, 4999)))).toBe(false)
    expect(blake3(d)).toHaveLength(32)
  })
})
