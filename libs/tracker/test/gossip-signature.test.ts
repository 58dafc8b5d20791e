import { describe, expect, it } from '@jest/globals'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { signGossip, verifyGossip } from '../src/gossip-signature.js'

describe('gossip signatures', () => {
  it('verify for the signing peer, over exactly the subject and message signed, and nothing else', async () => {
    const [key, other] = [await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519')]
    const id = peerIdFromPrivateKey(key).toString()
    const subject = `codio.gossip.availability.${id}`
    const data = new Uint8Array([1, 2, 3])
    const sig = await signGossip(key, subject, data)
    expect(await verifyGossip(id, subject, data, sig)).toBe(true)
    expect(await verifyGossip(id, subject, data, await signGossip(other, subject, data))).toBe(false)
    expect(await verifyGossip(peerIdFromPrivateKey(other).toString(), subject, data, sig)).toBe(false)
    expect(await verifyGossip(id, subject, new Uint8Array([1, 2, 4]), sig)).toBe(false)
    expect(await verifyGossip(id, `codio.gossip.metrics.${id}`, data, sig)).toBe(false)
    for (const bad of [undefined, '', 'not base64url!', 'A'.repeat(300), sig.slice(0, -4)]) {
      expect(await verifyGossip(id, subject, data, bad)).toBe(false)
    }
    // a peer ID that does not parse, or carries no public key (an RSA-style sha256 multihash)
    expect(await verifyGossip('12D3KooWnotapeerid', subject, data, sig)).toBe(false)
    expect(await verifyGossip('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N', subject, data, sig)).toBe(false)
  })
})
