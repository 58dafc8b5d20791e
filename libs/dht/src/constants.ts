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

/** Liveness pings in flight at once (refresh sweep; pings after failed RPCs). */
export const LIVENESS_CHECK_CONCURRENCY = 4
