/** Default per-query time limit, ms. */
export const DEFAULT_QUERY_TIMEOUT_MS = 60_000

/** Largest accepted per-query time limit, ms. */
export const MAX_QUERY_TIMEOUT_MS = 60_000

/** Default interval between routing-table refreshes (self lookup + random walk), ms: 10 min. */
export const DEFAULT_REFRESH_INTERVAL_MS = 600_000

/** Smallest accepted refresh interval, ms (tests use about a second). */
export const MIN_REFRESH_INTERVAL_MS = 100

/** Share of the refresh interval each round is moved by at random (± 10 %), so nodes do not refresh in step. */
export const REFRESH_JITTER = 0.1

/** How long a routing-table peer gets to answer a liveness ping, ms, before it is dropped from the table. */
export const LIVENESS_CHECK_TIMEOUT_MS = 5_000

/**
 * Refresh intervals a routing-table peer may stay silent (no answer to an RPC of ours, no ping)
 * before the refresh sweep pings it. go-libp2p-kad-dht likewise pings only peers whose last
 * successful query is older than a multiple of its refresh interval; at one interval, every
 * unconnected table peer was dialled every round, and on a busy node those dials (TCP, Noise,
 * Yamux) starved its own lookups (bench:dht churn: 281 ms of CPU per lookup, lookups timing out
 * with every first-round dial stalled). Struck and suspect peers are pinged whatever their silence.
 */
export const LIVENESS_SILENCE_INTERVALS = 3

/** Liveness pings in flight at once (refresh sweep; pings after failed RPCs). */
export const LIVENESS_CHECK_CONCURRENCY = 4

/**
 * Passes a provide makes at most. A pass whose ADD_PROVIDER did not reach every closest peer it
 * found (a send failed: the peer's stream closed, a dial or RPC timed out), or that found fewer
 * than K closest peers while the routing table holds K or more, runs once more: the K closest
 * are looked up again and each gets the record again (receiving it twice is harmless).
 */
export const PROVIDE_PASSES = 2

/** ADD_PROVIDERs in flight at once when a provide tops up its holders past the lookup's closest peers (α, as kad-dht's own sends). */
export const TOP_UP_CONCURRENCY = 3
