import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { Uint8ArrayList } from 'uint8arraylist'

const CHACHA_POLY1305 = 'chacha20-poly1305'
const TAG_BYTES = 16
/** Below this many bytes libp2p-noise's WebAssembly ChaCha20-Poly1305 beats OpenSSL's per-call setup; we keep its choice. */
const SMALL_MESSAGE_BYTES = 1200

interface CachedKey { bytes: Uint8Array, key: KeyObject }

/**
 * The transport keys of each Noise session, imported into OpenSSL once. A session's cipher
 * state hands the same `k` array to every message; the bytes are compared on each use, so an
 * array rewritten in place can never encrypt under a stale key.
 */
const keys = new WeakMap<Uint8Array, CachedKey>()

function secretKey (k: Uint8Array): KeyObject {
  const cached = keys.get(k)
  if (cached != null && Buffer.compare(cached.bytes, k) === 0) return cached.key
  const bytes = Uint8Array.from(k)
  const key = createSecretKey(bytes)
  keys.set(k, { bytes, key })
  return key
}

/**
 * ChaCha20-Poly1305 (RFC 8439) for Noise transport messages, as libp2p-noise's own Node
 * implementation does it (OpenSSL through `node:crypto`) minus two per-message costs measured
 * in swarm profiles: importing the raw 32-byte key on every message (`createCipheriv` with a
 * buffer key builds a fresh key object each time; we import each session key once), and
 * copying every ciphertext to append its tag (we return the two as one `Uint8ArrayList`).
 * Every message of up to 65,519 bytes still gets its own cipher, since the nonce changes per
 * message (Noise spec §5.1). Messages under 1,200 bytes, the handshake (X25519, SHA-256,
 * HKDF) and the wire format are libp2p-noise's `defaultCrypto`, unchanged.
 *
 * `npm run bench:noise` compares it with `defaultCrypto` per 64 KiB message.
 *
 * @example
 * ```ts
 * noise({ crypto: noiseCrypto })
 * ```
 */
export const noiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  chaCha20Poly1305Encrypt (plaintext, nonce, ad, k) {
    if (plaintext.byteLength < SMALL_MESSAGE_BYTES) return defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)
    const cipher = createCipheriv(CHACHA_POLY1305, secretKey(k), nonce, { authTagLength: TAG_BYTES })
    cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
    const out = new Uint8ArrayList()
    if (plaintext instanceof Uint8Array) {
      out.append(cipher.update(plaintext))
    } else {
      for (const buf of plaintext) out.append(cipher.update(buf))
    }
    // a stream cipher: final() adds no bytes, only completes the tag
    const final = cipher.final()
    if (final.byteLength > 0) out.append(final)
    out.append(cipher.getAuthTag())
    return out
  },
  chaCha20Poly1305Decrypt (ciphertext, nonce, ad, k, dst) {
    if (ciphertext.byteLength < SMALL_MESSAGE_BYTES) return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
    const textBytes = ciphertext.byteLength - TAG_BYTES
    const decipher = createDecipheriv(CHACHA_POLY1305, secretKey(k), nonce, { authTagLength: TAG_BYTES })
    decipher.setAAD(ad, { plaintextLength: textBytes })
    decipher.setAuthTag(ciphertext.subarray(textBytes))
    let out: Uint8Array | Uint8ArrayList
    if (ciphertext instanceof Uint8Array) {
      out = decipher.update(ciphertext.subarray(0, textBytes))
    } else {
      const list = new Uint8ArrayList()
      for (const buf of ciphertext.sublist(0, textBytes)) list.append(decipher.update(buf))
      out = list
    }
    // throws when the tag does not match: nothing decrypted is returned
    const final = decipher.final()
    if (final.byteLength === 0) return out
    return new Uint8ArrayList(out, final)
  }
}
