/** Protocol id of block (chunk and manifest) exchange between Codio peers. */
export const CHUNK_PROTOCOL = '/codio/chunk/1.0.0'

/** Largest block a peer sends or accepts: the largest chunk size (8 MiB) plus framing room. */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024 + 4096

/** Default time a single block request may take before it fails (ms). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000

/** Default number of inbound block streams served at once per connection. */
export const DEFAULT_MAX_INBOUND_STREAMS = 64

/** Default number of outbound block streams per connection. */
export const DEFAULT_MAX_OUTBOUND_STREAMS = 64

/**
 * Protocol id of swarm sessions: one long-lived stream per peer and content carrying the BEP 3
 * state messages (bitfield, have, choke / unchoke, interested / not interested).
 */
export const SWARM_PROTOCOL = '/codio/swarm/1.0.0'

/** Largest session message: a bitfield of 2^24 chunks (16 TiB of 1 MiB chunks) plus framing. */
export const MAX_SESSION_MESSAGE_BYTES = 2 * 1024 * 1024 + 1024

/** Peers one peer exchange message may add, and drop, at most (BEP 11). */
export const MAX_PEX_PEERS = 50
