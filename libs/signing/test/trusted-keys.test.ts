import { describe, it, expect } from '@jest/globals'
import { generateKeyPair } from '../src/generate-key-pair.js'
import { encodePublicKey } from '../src/public-key.js'
import { TrustedKeys } from '../src/trusted-keys.js'
import { InvalidKeyError } from '../src/errors.js'

describe('TrustedKeys', () => {
  it('trusts keys given as bytes or strings and lists them as strings', async () => {
    const a = (await generateKeyPair()).publicKey
    const b = (await generateKeyPair()).publicKey
    const c = (await generateKeyPair()).publicKey
    const keys = new TrustedKeys([a, encodePublicKey(b)])
    expect(keys.isTrusted(a)).toBe(true)
    expect(keys.isTrusted(b)).toBe(true)
    expect(keys.isTrusted(c)).toBe(false)
    expect(keys.size).toBe(2)
    expect(keys.list()).toEqual([encodePublicKey(a), encodePublicKey(b)].sort())
    keys.add(a) // duplicate
    expect(keys.size).toBe(2)
  })

  it('a revoked key is not trusted, and adding it again does not re-trust it', async () => {
    const a = (await generateKeyPair()).publicKey
    const b = (await generateKeyPair()).publicKey
    const keys = new TrustedKeys([a, b])
    keys.revoke(encodePublicKey(a))
    expect(keys.isTrusted(a)).toBe(false)
    expect(keys.isRevoked(a)).toBe(true)
    expect(keys.isTrusted(b)).toBe(true)
    expect(keys.size).toBe(1)
    expect(keys.list()).toEqual([encodePublicKey(b)])
    keys.add(a)
    expect(keys.isTrusted(a)).toBe(false)
    expect(keys.listRevoked()).toEqual([encodePublicKey(a)])
  })

  it('rejects malformed keys on add and answers false for them on isTrusted', () => {
    const keys = new TrustedKeys()
    expect(() => keys.add(new Uint8Array(31))).toThrow(InvalidKeyError)
    expect(() => keys.add('not-a-key')).toThrow(InvalidKeyError)
    expect(keys.isTrusted(new Uint8Array(5))).toBe(false)
    expect(keys.size).toBe(0)
  })
})
