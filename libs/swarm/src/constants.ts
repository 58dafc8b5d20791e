/** Requests in flight to one peer at a time (BEP 3 clients pipeline several). */
export const DEFAULT_PER_PEER_IN_FLIGHT = 4

/** Requests in flight for one download across all peers. */
export const DEFAULT_MAX_IN_FLIGHT = 32

/** Failures in a row after which a peer is dropped from a download. */
export const DEFAULT_MAX_PEER_FAILURES = 3

/** Chunks failing verification after which a peer is banned from a download. */
export const DEFAULT_MAX_BAD_CHUNKS = 2

/** Shortest time a request is outstanding before endgame may ask a second peer (ms). */
export const ENDGAME_MIN_DELAY_MS = 250

/** Adaptive queue depth: a peer's queue holds this much time of its measured rate (ms). */
export const ADAPTIVE_QUEUE_TIME_MS = 500

/** Adaptive queue depth bounds (requests in flight per peer). */
export const ADAPTIVE_MIN_DEPTH = 2
export const ADAPTIVE_MAX_DEPTH = 16

/**
 * Bytes of chunks one peer's request queue may have outstanding, whatever the depth (fixed or
 * adaptive): the requester's read buffer on its request stream (`MAX_READ_BUFFER_BYTES` of
 * @codio/exchange, 16 MiB + 8 KiB) must hold every answer at once, since a stalled reader lets
 * them pile up there and one byte more fails the stream (`StreamBufferError`). 16 MiB: 16
 * chunks of 1 MiB, 2 of 8 MiB (the largest chunk); at least one request is always allowed.
 */
export const MAX_QUEUE_BYTES = 16 * 1024 * 1024

/** A peer that refused with CHOKED and has no session to unchoke us is asked again after this (ms). */
export const CHOKED_RETRY_MS = 2000

/**
 * How long a chunk no known peer holds waits for a peer still downloading (one that sent a
 * partial bitfield, or a super-seed revealing chunks) to announce it before the download fails
 * with ChunkUnavailableError (ms).
 */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000

/**
 * A request outstanding for this many times the median chunk time of the download (its
 * successful fetches so far) is hedged: another peer holding the chunk is asked too, and
 * the slow peer is demoted to one request at a time until it delivers again.
 */
export const HEDGE_FACTOR = 4

/** Shortest time a request is outstanding before it is hedged outside endgame (ms). */
export const HEDGE_MIN_DELAY_MS = 250

/** Successful fetches the median chunk time needs before requests are hedged outside endgame. */
export const HEDGE_MIN_SAMPLES = 3

/**
 * How often a super-seed looks for isolated peers to feed, and for holders that stopped
 * counting (hoarders: see SuperSeeder) whose chunks go to the others (ms).
 */
export const SEED_TICK_MS = 250

/**
 * How often session peers hear of the peers that joined or left a content's swarm (ms). BEP 11
 * asks for at most one message a minute; a CDN swarm forms within seconds of a publish, and
 * the peers a newcomer does not hear of in that time cost it seconds of lookups.
 */
export const PEX_INTERVAL_MS = 1000

/** Sessions per content beyond which peers named by peer exchange are no longer dialled. */
export const PEX_MAX_SWARM_PEERS = 50

/** Longest wait for identify to tell a new peer's listen addresses before naming it without (ms). */
export const PEX_IDENTIFY_WAIT_MS = 5000

/**
 * Store lookups at a time when a download joins its content's swarm: one after another,
 * 1 000 chunks cost 1 000 event-loop turns.
 */
export const ATTACH_CONCURRENCY = 16
