/**
 * A public or private key is malformed: wrong length, bad base64url characters, or not a
 * valid Ed25519 point.
 */
export class InvalidKeyError extends Error {
  override name = 'InvalidKeyError'

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/**
 * A key file cannot be written, read or trusted: it exists already, it is unreadable, it is not
 * JSON, it is not an Ed25519 JWK, or its public key `x` does not belong to its seed `d`.
 * `path` is the file and `reason` the short explanation (also in `message`).
 */
export class KeyFileError extends Error {
  override name = 'KeyFileError'
  readonly path: string
  readonly reason: string

  constructor (path: string, reason: string, options?: { cause?: unknown }) {
    super(`key file ${path}: ${reason}`, options)
    this.path = path
    this.reason = reason
  }
}
