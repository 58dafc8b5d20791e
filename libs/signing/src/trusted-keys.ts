import { PUBLIC_KEY_LENGTH } from './ed25519.js'
import { InvalidKeyError } from './errors.js'
import { decodePublicKey, encodePublicKey } from './public-key.js'

/**
 * The set of publisher keys whose manifests a node accepts.
 *
 * Revocation is sticky: once revoked, a key stays untrusted even if it is added again (a
 * config reload that still lists the key must not silently re-trust it).
 *
 * Keys are given as 32 bytes or as base64url strings ({@link encodePublicKey}).
 */
export class TrustedKeys {
  readonly #trusted = new Set<string>()
  readonly #revoked = new Set<string>()

  /** @throws InvalidKeyError for a malformed key */
  constructor (keys: Iterable<Uint8Array | string> = []) {
    for (const k of keys) this.add(k)
  }

  /** Trusts `k` unless it was revoked. @throws InvalidKeyError for a malformed key */
  add (k: Uint8Array | string): void {
    this.#trusted.add(normalize(k))
  }

  /** Revokes `k`: it is untrusted from now on, even if added again. @throws InvalidKeyError */
  revoke (k: Uint8Array | string): void {
    const s = normalize(k)
    this.#trusted.delete(s)
    this.#revoked.add(s)
  }

  /** `true` iff `k` was added and not revoked. Malformed input gives `false`, never throws. */
  isTrusted (k: Uint8Array | string): boolean {
    const s = tryNormalize(k)
    return s !== undefined && this.#trusted.has(s) && !this.#revoked.has(s)
  }

  /** `true` iff `k` has been revoked. Malformed input gives `false`. */
  isRevoked (k: Uint8Array | string): boolean {
    const s = tryNormalize(k)
    return s !== undefined && this.#revoked.has(s)
  }

  /** Trusted (unrevoked) keys as base64url strings, sorted. */
  list (): string[] {
    return [...this.#trusted].filter(s => !this.#revoked.has(s)).sort()
  }

  /** Revoked keys as base64url strings, sorted. */
  listRevoked (): string[] {
    return [...this.#revoked].sort()
  }

  /** Number of trusted (unrevoked) keys. */
  get size (): number {
    return this.list().length
  }
}

function normalize (k: Uint8Array | string): string {
  if (typeof k === 'string') return encodePublicKey(decodePublicKey(k))
  // round trip through decodePublicKey so bytes get the same point check as strings
  if (k instanceof Uint8Array && k.length === PUBLIC_KEY_LENGTH) return encodePublicKey(decodePublicKey(encodePublicKey(k)))
  throw new InvalidKeyError(`public key must be ${PUBLIC_KEY_LENGTH} bytes or a base64url string`)
}

function tryNormalize (k: unknown): string | undefined {
  try {
    if (typeof k === 'string' || k instanceof Uint8Array) return normalize(k)
  } catch {}
  return undefined
}
