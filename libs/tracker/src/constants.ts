/** A peer not heard from within this long is offline; also the expiry of every Redis key (ms). */
export const DEFAULT_PEER_TIMEOUT_MS = 5 * 60_000
/** How often a node publishes its gossip (ms). */
export const DEFAULT_GOSSIP_INTERVAL_MS = 30_000
/** `changed()` publishes within this long, coalescing the changes meanwhile (ms). */
export const DEFAULT_GOSSIP_DEBOUNCE_MS = 1000
/** NATS subjects are `<prefix>.availability.<peerId>` and `<prefix>.metrics.<peerId>`. */
export const DEFAULT_SUBJECT_PREFIX = 'codio.gossip'
/** Redis keys start with this. */
export const DEFAULT_KEY_PREFIX = 'codio:tracker:'

/** Time constant τ of the uptime factor 1 − e^(−uptime/τ): 1 h of uptime gives 1 − e^(−3) ≈ 0.950 (s). */
export const UPTIME_TAU_SECONDS = 1200
/** Reputation above this is reliable. */
export const RELIABLE_ABOVE = 0.8
/** Reputation below this is unreliable. */
export const UNRELIABLE_BELOW = 0.3
/** Download speed is the mean of this many most recent measurements. */
export const SPEED_SAMPLES = 10

/** SelectPeers returns at most this many peers per call. */
export const MAX_SELECT_COUNT = 100
/** SelectPeers accepts at most this many excluded peer IDs. */
export const MAX_EXCLUDE = 1000
/** Hand-outs of a peer are counted in a window this long, shared by all replicas (ms). */
export const DEFAULT_LOAD_WINDOW_MS = 30_000
/** A peer handed out this many times in the window ranks at half its score. */
export const DEFAULT_LOAD_HALF = 8
/** Ranking uses at least this reputation, so that brand-new peers are still chosen once the good ones are loaded. */
export const EXPLORATION_FLOOR = 0.05

/** The client's default deadline for one call (ms): past it the edge falls back to the DHT. */
export const DEFAULT_CLIENT_TIMEOUT_MS = 500

export const MAX_ID_LENGTH = 256
export const MAX_MULTIADDRS = 64
export const MAX_MULTIADDR_LENGTH = 1024
export const MAX_ROLES = 8
export const MAX_CONTENTS_PER_MESSAGE = 100_000
export const MAX_OBSERVATIONS = 10_000
/** 2^24 chunks: 16 TiB at 1 MiB chunks. */
export const MAX_CHUNK_COUNT = 2 ** 24

/**
 * Share of reputation that rests on uptime as the tracker observed it: reputation = success
 * ratio × (1 − w + w × uptime factor), so a peer seen for the first time keeps 2/3 of its
 * success ratio rather than none.
 */
export const UPTIME_WEIGHT = 1 / 3
/**
 * Most chunk outcomes (successes + failures) one observer's reports about one peer count for:
 * past it, older evidence is scaled down (recent behaviour counts most), so no single observer
 * outweighs this many transfers, however large the counts it reports.
 */
export const MAX_OBSERVER_WEIGHT = 100
/**
 * Most chunk requests per second one observer can have made to one peer: the growth of its
 * reported counts between two reports is capped at this × the seconds between them (at least
 * 1 s, at most the peer timeout), so counts past what time allows are cut.
 */
export const MAX_OBSERVED_REQUESTS_PER_SECOND = 50
/** A download speed above this (100 Gbit/s in bytes/s) is cut to it. */
export const MAX_OBSERVED_BYTES_PER_SECOND = 12.5e9

/** A gossip message timestamped more than this after the tracker's clock is refused (ms). */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 60_000
/** Contents kept per peer (what a snapshot lists beyond it is dropped). */
export const DEFAULT_MAX_CONTENTS_PER_PEER = 100_000
/**
 * Contents kept per peer no other peer has yet reported a chunk received from (an unproven
 * peer, e.g. a made-up peer ID): what cheap identities can add to the tracker's state is small.
 */
export const DEFAULT_MAX_CONTENTS_UNPROVEN = 1000
/** Peers the tracker keeps state for (those heard from within the peer timeout); a new peer past it is refused. */
export const DEFAULT_MAX_PEERS = 50_000
