/** A chunk size is not an integer in [MIN_CHUNK_SIZE, MAX_CHUNK_SIZE]. */
export class InvalidChunkSizeError extends Error {
  override name = 'InvalidChunkSizeError'
  constructor (message: string, options?: { cause?: unknown }) { super(message, options) }
}

/** Bytes are not a valid, canonical Codio manifest. `reason` says which rule failed. */
export class ManifestDecodeError extends Error {
  override name = 'ManifestDecodeError'
  readonly reason: string
  constructor (reason: string, options?: { cause?: unknown }) {
    super(`invalid manifest: ${reason}`, options)
    this.reason = reason
  }
}

/** A manifest object handed to sign/encode breaks a manifest rule. `reason` says which. */
export class InvalidManifestError extends Error {
  override name = 'InvalidManifestError'
  readonly reason: string
  constructor (reason: string, options?: { cause?: unknown }) {
    super(`invalid manifest: ${reason}`, options)
    this.reason = reason
  }
}

/** The manifest's publisher key is not in the trusted set, or has been revoked. */
export class UntrustedPublisherError extends Error {
  override name = 'UntrustedPublisherError'
  /** base64url publisher key */
  readonly publisher: string
  readonly revoked: boolean
  constructor (publisher: string, revoked: boolean, options?: { cause?: unknown }) {
    super(`publisher ${publisher} is ${revoked ? 'revoked' : 'not trusted'}`, options)
    this.publisher = publisher
    this.revoked = revoked
  }
}

/** The manifest signature does not verify against its publisher key. */
export class InvalidSignatureError extends Error {
  override name = 'InvalidSignatureError'
  constructor (message = 'manifest signature does not verify', options?: { cause?: unknown }) { super(message, options) }
}

/** A string or bytes are not a CID of the expected kind (version, codec, hash). */
export class InvalidCidError extends Error {
  override name = 'InvalidCidError'
  constructor (message: string, options?: { cause?: unknown }) { super(message, options) }
}

/** A chunk index or byte range lies outside the content. */
export class InvalidRangeError extends Error {
  override name = 'InvalidRangeError'
  constructor (message: string, options?: { cause?: unknown }) { super(message, options) }
}
