import { sha256 } from 'multiformats/hashes/sha2'
import { XorLengthMismatchError } from './errors.js'
import type { PeerId } from '@libp2p/interface'

function checkLengths (a: Uint8Array, b: Uint8Array): void {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array)) {
    throw new XorLengthMismatchError('XOR operands must both be Uint8Arrays')
  }
  if (a.length !== b.length) {
    throw new XorLengthMismatchError(`XOR operands differ in length: ${a.length} vs ${b.length} bytes`)
  }
}

/**
 * The Kademlia XOR metric d(a, b) = a ⊕ b (Maymounkov & Mazières 2002, §2.1), byte by byte.
 *
 * @param a - a Kademlia ID (for kad-dht: 32 bytes, see {@link kadId})
 * @param b - another ID of the same length
 * @returns a new array, `a[i] ^ b[i]` for every byte
 * @throws XorLengthMismatchError when the lengths differ or an operand is not a Uint8Array
 */
export function xorDistance (a: Uint8Array, b: Uint8Array): Uint8Array {
  checkLengths(a, b)
  const out = new Uint8Array(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i]
  return out
}

/**
 * Orders two XOR distances as big-endian unsigned integers (the first differing byte decides),
 * which is how Kademlia ranks "closer".
 *
 * @returns a negative number when `a` is closer (smaller) than `b`, 0 when equal, positive otherwise
 * @throws XorLengthMismatchError when the lengths differ
 */
export function compareXor (a: Uint8Array, b: Uint8Array): number {
  checkLengths(a, b)
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1
  }
  return 0
}

/**
 * The Kademlia ID of a DHT key: the 32-byte SHA-256 digest of the key bytes. Same conversion as
 * kad-dht's `utils.convertBuffer` (not exported by the package, so repeated here); for provider
 * records the key is the CID's multihash bytes.
 */
export async function kadId (key: Uint8Array): Promise<Uint8Array> {
  return (await sha256.digest(key)).digest
}

/**
 * The Kademlia ID of a peer: SHA-256 of its multihash bytes, as kad-dht's `utils.convertPeerId`.
 */
export async function peerKadId (peerId: PeerId): Promise<Uint8Array> {
  return kadId(peerId.toMultihash().bytes)
}

/**
 * Sorts peers by XOR distance of their Kademlia ID to the Kademlia ID of `key`, closest first.
 *
 * @param key - the raw DHT key (hashed here with {@link kadId})
 */
export async function sortByDistance (key: Uint8Array, peers: PeerId[]): Promise<PeerId[]> {
  const target = await kadId(key)
  const withDistance = await Promise.all(peers.map(async peer => ({
    peer,
    distance: xorDistance(target, await peerKadId(peer))
  })))
  withDistance.sort((x, y) => compareXor(x.distance, y.distance))
  return withDistance.map(x => x.peer)
}
