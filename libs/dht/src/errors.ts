/**
 * Typed failures of `@codio/dht`. Callers branch on `name`, `code` or `instanceof`, never on the
 * message text.
 */

/** An option or argument handed to the DHT manager is out of range or of the wrong type. */
export class InvalidDhtOptionsError extends Error {
  override readonly name = 'InvalidDhtOptionsError'
  readonly code = 'ERR_INVALID_DHT_OPTIONS'
}

/** A `findPeer` query ran to its end without any peer returning the wanted peer's record. */
export class PeerNotFoundError extends Error {
  override readonly name = 'PeerNotFoundError'
  readonly code = 'ERR_PEER_NOT_FOUND'
}

export type DhtOperation = 'provide' | 'findProviders' | 'findPeer' | 'closestPeers'

export interface DhtQueryTimeoutErrorInit {
  cause?: unknown
  operation: DhtOperation
  /** The time limit that expired, ms. */
  timeoutMs: number
}

/** A DHT query did not finish within the manager's `queryTimeoutMs`. */
export class DhtQueryTimeoutError extends Error {
  override readonly name = 'DhtQueryTimeoutError'
  readonly code = 'ERR_DHT_QUERY_TIMEOUT'
  readonly operation: DhtOperation
  readonly timeoutMs: number

  constructor (message: string, init: DhtQueryTimeoutErrorInit) {
    super(message, { cause: init.cause })
    this.operation = init.operation
    this.timeoutMs = init.timeoutMs
  }
}

/** `xorDistance` / `compareXor` were given byte arrays of different lengths. */
export class XorLengthMismatchError extends Error {
  override readonly name = 'XorLengthMismatchError'
  readonly code = 'ERR_XOR_LENGTH_MISMATCH'
}

/** A query was asked of a node that is not started (or is stopping). */
export class DhtNotRunningError extends Error {
  override readonly name = 'DhtNotRunningError'
  readonly code = 'ERR_DHT_NOT_RUNNING'
}
