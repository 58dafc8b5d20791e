/**
 * A gossip message that cannot be applied: not protobuf, a field out of range, a bitfield of
 * the wrong size or with spare bits set, or a subject that does not match its sender. The
 * tracker drops it and counts it; `GossipPublisher` throws it for invalid local input.
 */
export class MalformedGossipError extends Error {
  override name = 'MalformedGossipError'
}

/** A query with bad arguments (empty content ID, count outside 1..100, …). Connect: InvalidArgument. */
export class InvalidRequestError extends Error {
  override name = 'InvalidRequestError'
}

/** GetPeerMetrics for a peer the tracker has no record of (never seen, or expired). Connect: NotFound. */
export class PeerNotFoundError extends Error {
  override name = 'PeerNotFoundError'
}

/** Redis did not answer: down, unreachable, or slower than the command timeout. Connect: Unavailable. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError'
}

/** Redis answered with an error the tracker did not expect (a bug or a misconfigured server). Connect: Internal. */
export class StoreError extends Error {
  override name = 'StoreError'
}

/** Client side: the tracker did not answer within the deadline. Fall back to the DHT. */
export class TrackerTimeoutError extends Error {
  override name = 'TrackerTimeoutError'
}

/** Client side: the tracker is unreachable, or answered that it cannot serve (Unavailable). Fall back to the DHT. */
export class TrackerUnavailableError extends Error {
  override name = 'TrackerUnavailableError'
}

/** Client side: any other failed call; `code` is the Connect code name (e.g. `internal`). */
export class TrackerRequestError extends Error {
  override name = 'TrackerRequestError'
  readonly code: string

  constructor (message: string, code: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** A NATS credential file named in the configuration cannot be read, or is empty. */
export class NatsCredentialsError extends Error {
  override name = 'NatsCredentialsError'
}
