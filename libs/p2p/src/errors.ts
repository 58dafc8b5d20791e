/** A peer key file exists but cannot be read as a libp2p private key. */
export class PeerKeyFileError extends Error {

  override readonly name = 'PeerKeyFileError'
}

/** A configured multiaddr (listen, announce or bootstrap) does not parse. */
export class InvalidMultiaddrError extends Error {

  override readonly name = 'InvalidMultiaddrError'
}
