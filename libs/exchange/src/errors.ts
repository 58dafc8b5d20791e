import type { RefusalCode } from '@codio/proto'

/** The remote peer answered a request with a typed refusal (not found, choked, ...). */
export class BlockRefusedError extends Error {
  override readonly name = 'BlockRefusedError'
  constructor (message: string, readonly code: RefusalCode, options?: ErrorOptions) {
    super(message, options)
  }
}

/** The bytes a peer sent do not hash to the CID that was requested. */
export class BlockVerificationError extends Error {
  override readonly name = 'BlockVerificationError'
}

/** The peer broke the protocol: an unexpected or malformed message, or a closed stream. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'
}

/** The request did not complete within its time limit. */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError'
}

/**
 * This node refuses to exchange with the peer (it is banned here): nothing is requested from
 * it, and its own streams are reset unanswered.
 */
export class PeerDeniedError extends Error {
  override readonly name = 'PeerDeniedError'
}

/**
 * A block ID this protocol never carries: not a CIDv1 with the raw (chunk) or dag-cbor
 * (manifest) codec and a 32-byte sha2-256 multihash. Thrown before anything is sent; never
 * counted against the peer asked.
 */
export class InvalidBlockIdError extends Error {
  override readonly name = 'InvalidBlockIdError'
}
