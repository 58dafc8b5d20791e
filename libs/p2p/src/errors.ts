/** A peer key file exists but cannot be read as a libp2p private key. */
export class PeerKeyFileError extends Error {
  override readonly name = 'PeerKeyFileError'
  readonly code = 'ERR_PEER_KEY_FILE'
}

/**
 * A configured multiaddr (listen, announce, bootstrap, relay) does not parse, or lacks the
 * `/p2p/<peer id>` a relay address needs.
 */
export class InvalidMultiaddrError extends Error {
  override readonly name = 'InvalidMultiaddrError'
  readonly code = 'ERR_INVALID_MULTIADDR'
}

/** A numeric or structured option of {@link createP2PNode} is out of range. */
export class InvalidOptionError extends Error {
  override readonly name = 'InvalidOptionError'
  readonly code = 'ERR_INVALID_OPTION'
}

/** A peer ID given as a string does not parse, or names this node where a remote peer is needed. */
export class InvalidPeerIdError extends Error {
  override readonly name = 'InvalidPeerIdError'
  readonly code = 'ERR_INVALID_PEER_ID'
}
