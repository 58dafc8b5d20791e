import { ed, PUBLIC_KEY_LENGTH } from './ed25519.js'
import { InvalidKeyError } from './errors.js'

// 32 bytes = 43 base64url characters without padding.
const KEY_STRING = /^[A-Za-z0-9_-]{43}$/

/**
 * Encodes a 32-byte Ed25519 public key as base64url without padding (RFC 4648 §5), the form
 * used in JWK `x` (RFC 8037 §2) and in config files.
 *
 * @returns a 43-character string
 * @throws InvalidKeyError if `pk` is not 32 bytes
 */
export function encodePublicKey (pk: Uint8Array): string {
  if (!(pk instanceof Uint8Array) || pk.length !== PUBLIC_KEY_LENGTH) {
    throw new InvalidKeyError(`public key must be ${PUBLIC_KEY_LENGTH} bytes`)
  }
  return Buffer.from(pk.buffer, pk.byteOffset, pk.byteLength).toString('base64url')
}

/**
 * Decodes a base64url (no padding) Ed25519 public key.
 *
 * @returns 32 bytes
 * @throws InvalidKeyError if the string is not exactly 43 base64url characters, is not the
 *   canonical encoding of 32 bytes, or is not a valid Ed25519 point (RFC 8032 §5.1.3)
 */
export function decodePublicKey (s: string): Uint8Array {
  return decodeKeyBytes(s, 'public key', true)
}

/** @internal decodes 32 bytes of base64url; optionally checks that they are a curve point. */
export function decodeKeyBytes (s: unknown, what: string, checkPoint: boolean): Uint8Array {
  if (typeof s !== 'string') throw new InvalidKeyError(`${what} must be a base64url string`)
  if (!KEY_STRING.test(s)) {
    throw new InvalidKeyError(`${what} must be 43 base64url characters (32 bytes), got ${s.length} characters`)
  }
  const buf = Buffer.from(s, 'base64url')
  const bytes = new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength))
  // The last character carries 2 spare bits; only one spelling per key is accepted.
  if (bytes.length !== PUBLIC_KEY_LENGTH || buf.toString('base64url') !== s) {
    throw new InvalidKeyError(`${what} is not a canonical base64url encoding of 32 bytes`)
  }
  if (checkPoint) {
    try {
      ed.Point.fromBytes(bytes)
    } catch (cause) {
      throw new InvalidKeyError(`${what} is not a valid Ed25519 point`, { cause })
    }
  }
  return bytes
}

/** @internal true if `s` looks like a key string rather than a path. */
export function isKeyString (s: string): boolean {
  return KEY_STRING.test(s)
}
