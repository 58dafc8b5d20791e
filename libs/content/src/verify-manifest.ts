import { encodePublicKey, verify, type TrustedKeys } from '@codio/signing'
import { manifestSigningBytes } from './encode-manifest.js'
import { InvalidSignatureError, UntrustedPublisherError } from './errors.js'
import type { Manifest } from './manifest.js'

/**
 * Accepts a manifest only if its publisher key is trusted and unrevoked and its Ed25519
 * signature (RFC 8032, strict) over {@link manifestSigningBytes} verifies.
 *
 * @throws InvalidManifestError if the manifest object breaks a manifest rule
 * @throws UntrustedPublisherError if the publisher key is not trusted or is revoked
 * @throws InvalidSignatureError if the signature does not verify
 */
export async function verifyManifest (m: Manifest, trusted: TrustedKeys): Promise<void> {
  const bytes = manifestSigningBytes(m)
  if (!trusted.isTrusted(m.publisher)) {
    throw new UntrustedPublisherError(encodePublicKey(m.publisher), trusted.isRevoked(m.publisher))
  }
  if (!(m.signature instanceof Uint8Array) || m.signature.length !== 64 || !await verify(m.signature, bytes, m.publisher)) {
    throw new InvalidSignatureError()
  }
}
