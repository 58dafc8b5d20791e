import { ed, PRIVATE_KEY_LENGTH } from './ed25519.js'
import { InvalidKeyError } from './errors.js'

/** A publisher's Ed25519 key pair. */
export interface PublisherKeyPair {
  /** 32-byte Ed25519 public key (RFC 8032 §5.1.5). */
  publicKey: Uint8Array
  /** 32-byte private key seed (RFC 8032 §5.1.5), not the 64-byte expanded key. */
  privateKey: Uint8Array
}

/**
 * Generates a fresh Ed25519 key pair (RFC 8032 §5.1.5) from the platform CSPRNG.
 *
 * @returns `{ publicKey: 32 bytes, privateKey: 32-byte seed }`
 */
export async function generateKeyPair (): Promise<PublisherKeyPair> {
  const { secretKey, publicKey } = await ed.keygenAsync()
  return { publicKey, privateKey: secretKey }
}

/**
 * Derives the 32-byte public key of a 32-byte Ed25519 seed (RFC 8032 §5.1.5).
 *
 * @throws InvalidKeyError if `privateKey` is not 32 bytes
 */
export async function derivePublicKey (privateKey: Uint8Array): Promise<Uint8Array> {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== PRIVATE_KEY_LENGTH) {
    throw new InvalidKeyError(`private key must be ${PRIVATE_KEY_LENGTH} bytes, got ${describeLength(privateKey)}`)
  }
  return ed.getPublicKeyAsync(privateKey)
}

function describeLength (v: unknown): string {
  return v instanceof Uint8Array ? `${v.length} bytes` : typeof v
}
