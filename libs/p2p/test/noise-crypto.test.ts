import { describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { noiseCrypto } from '../src/noise-crypto.js'

const bytes = (x: Uint8Array | Uint8ArrayList): Uint8Array => x instanceof Uint8Array ? x : x.subarray()
const nonce = (n: number): Uint8Array => { const b = new Uint8Array(12); new DataView(b.buffer).setUint32(4, n, true); return b }

describe('noiseCrypto (ChaCha20-Poly1305 for Noise transport messages)', () => {
  const k = randomBytes(32)
  const ad = new Uint8Array(0)

  it.each([0, 16, 1199, 1200, 4096, 65_519])('matches libp2p-noise byte for byte at %i bytes, both ways', (size) => {
    const plaintext = randomBytes(size)
    const ours = bytes(noiseCrypto.chaCha20Poly1305Encrypt(plaintext, nonce(7), ad, k))
    const theirs = bytes(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce(7), ad, k))
    expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true)
    expect(ours.byteLength).toBe(size + 16)
    expect(Buffer.from(bytes(noiseCrypto.chaCha20Poly1305Decrypt(theirs, nonce(7), ad, k))).equals(plaintext)).toBe(true)
    expect(Buffer.from(bytes(defaultCrypto.chaCha20Poly1305Decrypt(ours, nonce(7), ad, k))).equals(plaintext)).toBe(true)
  })

  it('takes plaintext and ciphertext split across buffers', () => {
    const plaintext = randomBytes(70_000).subarray(0, 65_519)
    const split = new Uint8ArrayList(plaintext.subarray(0, 1000), plaintext.subarray(1000, 30_001), plaintext.subarray(30_001))
    const sealed = bytes(noiseCrypto.chaCha20Poly1305Encrypt(split, nonce(1), ad, k))
    expect(Buffer.from(sealed).equals(Buffer.from(bytes(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce(1), ad, k))))).toBe(true)
    // the tag itself straddles two buffers here
    const parts = new Uint8ArrayList(sealed.subarray(0, 40_000), sealed.subarray(40_000, sealed.byteLength - 8), sealed.subarray(sealed.byteLength - 8))
    expect(Buffer.from(bytes(noiseCrypto.chaCha20Poly1305Decrypt(parts, nonce(1), ad, k))).equals(plaintext)).toBe(true)
  })

  it('rejects a tampered message, a wrong nonce and a wrong key', () => {
    const plaintext = randomBytes(10_000)
    const sealed = Uint8Array.from(bytes(noiseCrypto.chaCha20Poly1305Encrypt(plaintext, nonce(3), ad, k)))
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce(4), ad, k)).toThrow()
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce(3), ad, randomBytes(32))).toThrow()
    sealed[5000] ^= 1
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce(3), ad, k)).toThrow()
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(new Uint8Array(10), nonce(3), ad, k)).toThrow()
  })

  it('never encrypts under a stale key when the key array is rewritten in place', () => {
    const key = Uint8Array.from(randomBytes(32))
    const plaintext = randomBytes(2000)
    noiseCrypto.chaCha20Poly1305Encrypt(plaintext, nonce(0), ad, key)
    key.set(randomBytes(32))
    const sealed = bytes(noiseCrypto.chaCha20Poly1305Encrypt(plaintext, nonce(0), ad, key))
    expect(Buffer.from(sealed).equals(Buffer.from(bytes(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce(0), ad, key))))).toBe(true)
  })
})
