import { describe, it, expect } from '@jest/globals'
import { generateKeyPair, derivePublicKey } from '../src/generate-key-pair.js'
import { sign } from '../src/sign.js'
import { verify } from '../src/verify.js'
import { encodePublicKey, decodePublicKey } from '../src/public-key.js'
import { InvalidKeyError } from '../src/errors.js'

const msg = new TextEncoder().encode('codio manifest bytes')

describe('sign / verify (RFC 8032)', () => {
  it('round trips: a signature over a message verifies with the signer public key', async () => {
    const kp = await generateKeyPair()
    expect(kp.publicKey).toHaveLength(32)
    expect(kp.privateKey).toHaveLength(32)
    const sig = await sign(msg, kp.privateKey)
    expect(sig).toHaveLength(64)
    expect(await verify(sig, msg, kp.publicKey)).toBe(true)
  })

  it('rejects a tampered message', async () => {
    const kp = await generateKeyPair()
    const sig = await sign(msg, kp.privateKey)
    const tampered = msg.slice()
    tampered[0] ^= 1
    expect(await verify(sig, tampered, kp.publicKey)).toBe(false)
  })

  it('rejects a tampered signature', async () => {
    const kp = await generateKeyPair()
    const sig = await sign(msg, kp.privateKey)
    sig[10] ^= 0x80
    expect(await verify(sig, msg, kp.publicKey)).toBe(false)
  })

  it('rejects the wrong public key', async () => {
    const a = await generateKeyPair()
    const b = await generateKeyPair()
    const sig = await sign(msg, a.privateKey)
    expect(await verify(sig, msg, b.publicKey)).toBe(false)
  })

  it('returns false instead of throwing on malformed input', async () => {
    const kp = await generateKeyPair()
    const sig = await sign(msg, kp.privateKey)
    expect(await verify(sig.subarray(0, 63), msg, kp.publicKey)).toBe(false)
    expect(await verify(sig, msg, kp.publicKey.subarray(1))).toBe(false)
    expect(await verify(sig, msg, new Uint8Array(32).fill(0xff))).toBe(false)
    expect(await verify('nope' as unknown as Uint8Array, msg, kp.publicKey)).toBe(false)
    expect(await verify(sig, undefined as unknown as Uint8Array, kp.publicKey)).toBe(false)
  })

  it('matches the RFC 8032 §7.1 TEST 1 vector', async () => {
    const seed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex')
    const pub = await derivePublicKey(new Uint8Array(seed))
    expect(Buffer.from(pub).toString('hex')).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
    const sig = await sign(new Uint8Array(0), new Uint8Array(seed))
    expect(Buffer.from(sig).toString('hex')).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b')
  })

  it('refuses to sign with a private key of the wrong length', async () => {
    await expect(sign(msg, new Uint8Array(31))).rejects.toBeInstanceOf(InvalidKeyError)
  })
})

describe('encodePublicKey / decodePublicKey', () => {
  it('round trips as 43 base64url characters without padding', async () => {
    const { publicKey } = await generateKeyPair()
    const s = encodePublicKey(publicKey)
    expect(s).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(decodePublicKey(s)).toEqual(publicKey)
  })

  it('throws InvalidKeyError on wrong length, bad characters, padding and non-canonical spellings', async () => {
    const s = encodePublicKey((await generateKeyPair()).publicKey)
    for (const bad of ['', s.slice(1), s + 'A', s.slice(0, 42) + '+', s + '=', s.slice(0, 42) + '!']) {
      expect(() => decodePublicKey(bad)).toThrow(InvalidKeyError)
    }
    // flip one of the two unused trailing bits: same bytes, different spelling
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const last = alphabet.indexOf(s[42])
    const sloppy = s.slice(0, 42) + alphabet[last ^ 1]
    expect(() => decodePublicKey(sloppy)).toThrow(InvalidKeyError)
  })

  it('error class names equal the class', () => {
    expect(new InvalidKeyError('x').name).toBe('InvalidKeyError')
  })
})
