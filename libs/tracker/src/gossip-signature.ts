import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'

/** NATS header carrying a gossip message's signature (base64url, no padding). */
export const GOSSIP_SIGNATURE_HEADER = 'Codio-Signature'

const encoder = new TextEncoder()

/**
 * What a gossip signature covers: the subject, a zero byte, then the message. The subject names
 * the kind and the sender, so a signed availability snapshot cannot be replayed as another
 * kind or under another peer's subject.
 */
function signedBytes (subject: string, data: Uint8Array): Uint8Array {
  const s = encoder.encode(subject)
  const out = new Uint8Array(s.length + 1 + data.length)
  out.set(s, 0)
  out.set(data, s.length + 1)
  return out
}

/** Sign a gossip message with the sending node's libp2p key; the result goes in {@link GOSSIP_SIGNATURE_HEADER}. */
export async function signGossip (key: PrivateKey, subject: string, data: Uint8Array): Promise<string> {
  return Buffer.from(await key.sign(signedBytes(subject, data))).toString('base64url')
}

/**
 * Whether `signature` is `peerId`'s signature over (`subject`, `data`). The public key comes
 * from the peer ID itself (Ed25519 and secp256k1 peer IDs inline it), so the tracker needs no
 * key directory. Never throws: a missing or malformed signature, a peer ID that does not parse
 * or carries no key (RSA) all give false.
 */
export async function verifyGossip (peerId: string, subject: string, data: Uint8Array, signature: string | undefined): Promise<boolean> {
  if (signature == null || signature === '' || signature.length > 256) return false
  try {
    const key = peerIdFromString(peerId).publicKey
    if (key == null) return false
    return await key.verify(signedBytes(subject, data), Buffer.from(signature, 'base64url'))
  } catch {
    return false
  }
}
