import { MAX_CHUNK_SIZE, MAX_MANIFEST_BYTES } from '@codio/content'

/** Protocol id of block (chunk and manifest) exchange between Codio peers. */
export const CHUNK_PROTOCOL = '/codio/chunk/1.0.0'

/**
 * Largest block a peer sends or accepts: the larger of the largest chunk (`MAX_CHUNK_SIZE`) and
 * the largest manifest (`MAX_MANIFEST_BYTES`), both from `@codio/content`, plus framing room.
 * Ingest refuses what exceeds those, so everything an origin accepts can travel.
 */
export const MAX_MESSAGE_BYTES = Math.max(MAX_CHUNK_SIZE, MAX_MANIFEST_BYTES) + 4096

/**
 * Bytes a block stream's reader buffers at most: one message being assembled (with its length
 * prefix) and the start of the next. Passed as `maxBufferSize` to `lpStream`, whose default
 * (4 MiB) would otherwise cut off every message of 4 MiB and more ("Read buffer overflow").
 */
export const MAX_READ_BUFFER_BYTES = 2 * MAX_MESSAGE_BYTES

/** `lpStream` options of a block stream: the message limit and a read buffer that holds one. */
export const BLOCK_STREAM_OPTIONS = { maxDataLength: MAX_MESSAGE_BYTES, maxBufferSize: MAX_READ_BUFFER_BYTES } as const

/**
 * Store reads a served stream starts ahead of the request being sent (the next requests in line):
 * at most this many blocks (4 MiB of 1 MiB chunks) held in memory per stream beyond the one sent.
 */
export const SERVE_READ_AHEAD = 4

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

/**
 * How long a swarm session gathers `have` indexes into one message (ms). A peer tells every
 * session peer of every chunk it stores: at 16 peers that was about 15 messages per chunk per
 * peer, each framed, encrypted, sent, decrypted and handled on its own. BEP 3 sends a `have`
 * per piece; a few tens of milliseconds of delay cost the swarm less than a chunk's transfer.
 */
export const HAVE_BATCH_MS = 25

/** Peers one peer exchange message may add, and drop, at most (BEP 11). */
export const MAX_PEX_PEERS = 50
