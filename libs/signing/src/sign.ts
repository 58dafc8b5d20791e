import { ed, PRIVATE_KEY_LENGTH } from './ed25519.js'
import { InvalidKeyError } from './errors.js'

/**
 * Signs `message` with an Ed25519 private key (PureEdDSA, RFC 8032 §5.1.6).
 *
 * @param message - bytes to sign, any length
 * @param privateKey - 32-byte seed
 * @returns 64-byte signature
 * @throws InvalidKeyError if `privateKey` is not 32 bytes
 */
export async function sign (message: Uint8Array, privateKey: Uint8Array): Promise<Uint8Array> {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== PRIVATE_KEY_LENGTH) {
    throw new InvalidKeyError(`private key must be ${PRIVATE_KEY_LENGTH} bytes`)
  }
  return ed.signAsync(message, privateKey)
}
