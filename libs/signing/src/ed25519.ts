import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'

// noble's sync API needs a SHA-512; the async API uses WebCrypto by default.
ed.hashes.sha512 = sha512

export { ed }

/** Ed25519 public key length in bytes (RFC 8032 §5.1.5). */
export const PUBLIC_KEY_LENGTH = 32
/** Ed25519 private key (seed) length in bytes (RFC 8032 §5.1.5). */
export const PRIVATE_KEY_LENGTH = 32
/** Ed25519 signature length in bytes (RFC 8032 §5.1.6). */
export const SIGNATURE_LENGTH = 64

export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i]
  return diff === 0
}
