import { derivePublicKey, sign, type PublisherKeyPair } from '@codio/signing'
import { manifestSigningBytes } from './encode-manifest.js'
import { InvalidManifestError } from './errors.js'
import type { Manifest, UnsignedManifest } from './manifest.js'

/**
 * Signs a manifest with the publisher's Ed25519 key (RFC 8032) over
 * {@link manifestSigningBytes}.
 *
 * @returns a new manifest object with a 64-byte `signature`
 * @throws InvalidManifestError if the manifest breaks a manifest rule or `unsigned.publisher`
 *   is not the public key of `kp.privateKey`
 */
export async function signManifest (unsigned: UnsignedManifest, kp: PublisherKeyPair): Promise<Manifest> {
  const bytes = manifestSigningBytes(unsigned)
  const derived = await derivePublicKey(kp.privateKey)
  if (!sameBytes(derived, unsigned.publisher)) {
    throw new InvalidManifestError('publisher is not the public key of the signing key')
  }
  const signature = await sign(bytes, kp.privateKey)
  const m: Manifest = {
    version: unsigned.version,
    size: unsigned.size,
    mediaType: unsigned.mediaType,
    chunkSize: unsigned.chunkSize,
    chunks: [...unsigned.chunks],
    createdAt: unsigned.createdAt,
    publisher: unsigned.publisher.slice(),
    signature
  }
  if (unsigned.fec !== undefined) {
    m.fec = { ...unsigned.fec, groups: unsigned.fec.groups.map(g => ({ parity: [...g.parity] })) }
  }
  return m
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
