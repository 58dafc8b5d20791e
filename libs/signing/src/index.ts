/**
 * @packageDocumentation
 * Ed25519 publisher keys for Codio (RFC 8032 signatures, RFC 8037 JWK key files) and the set
 * of trusted publisher keys.
 *
 * @example
 * ```ts
 * import { generateKeyPair, saveKeyPair, loadKeyPair, sign, verify } from '@codio/signing'
 *
 * await saveKeyPair('/var/lib/codio/publisher.jwk', await generateKeyPair())
 * const kp = await loadKeyPair('/var/lib/codio/publisher.jwk')
 * const sig = await sign(message, kp.privateKey)           // 64 bytes
 * await verify(sig, message, kp.publicKey)                  // true
 * ```
 */
export { PUBLIC_KEY_LENGTH, PRIVATE_KEY_LENGTH, SIGNATURE_LENGTH } from './ed25519.js'
export { InvalidKeyError, KeyFileError } from './errors.js'
export { generateKeyPair, derivePublicKey, type PublisherKeyPair } from './generate-key-pair.js'
export { sign } from './sign.js'
export { verify } from './verify.js'
export { encodePublicKey, decodePublicKey } from './public-key.js'
export { saveKeyPair, savePublicKey, loadKeyPair, loadOrCreateKeyPair, loadPublicKey, type SaveKeyPairOptions, type Ed25519Jwk } from './key-file.js'
export { TrustedKeys } from './trusted-keys.js'
