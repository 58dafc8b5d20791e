/** Default per-query time limit, ms. */
export const DEFAULT_QUERY_TIMEOUT_MS = 60_000

/** Largest accepted per-query time limit, ms. */
export const MAX_QUERY_TIMEOUT_MS = 60_000

/** Default interval between routing-table refreshes (self lookup + random walk), ms: 10 min. */
export const DEFAULT_REFRESH_INTERVAL_MS = 600_000

/** Smallest accepted refresh interval, ms (tests use about a second). */
export const MIN_REFRESH_INTERVAL_MS = 100
