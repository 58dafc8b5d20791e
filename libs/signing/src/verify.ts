import { ed, PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH } from './ed25519.js'

/**
 * Verifies an Ed25519 signature (RFC 8032 §5.1.7, strict: non-canonical encodings and
 * small-order keys are rejected, not ZIP-215 permissive).
 *
 * @param signature - 64 bytes
 * @param message - the signed bytes
 * @param publicKey - 32 bytes
 * @returns `true` only for a valid signature; `false` for a bad signature and for any
 *   malformed input (wrong lengths, non-bytes, invalid point). Never throws.
 */
export async function verify (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  try {
    if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) return false
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) return false
    if (!(message instanceof Uint8Array)) return false
    return await ed.verifyAsync(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}
