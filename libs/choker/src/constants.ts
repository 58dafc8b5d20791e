/** Regular (tit-for-tat) upload slots: BitTorrent mainline's default of 4 unchoked peers. */
export const DEFAULT_REGULAR_SLOTS = 4

/** Optimistic unchoke slots (BEP 3: "a single optimistic unchoke"). */
export const DEFAULT_OPTIMISTIC_SLOTS = 1

/** How often the regular slots are recomputed (ms): BEP 3's "every ten seconds". */
export const DEFAULT_UNCHOKE_INTERVAL_MS = 10_000

/** How often the optimistic unchoke rotates (ms): BEP 3's "every 30 seconds". */
export const DEFAULT_OPTIMISTIC_INTERVAL_MS = 30_000

/**
 * Peers connected for less than this (ms) are {@link NEW_PEER_WEIGHT}× as likely to get the
 * optimistic slot (mainline: "newly connected peers are three times as likely to start as the
 * current optimistic unchoke"), so a peer with nothing yet gets its first piece quickly.
 */
export const DEFAULT_NEW_PEER_MS = 60_000

/** Weight of a new peer in the optimistic draw (an established peer weighs 1). */
export const NEW_PEER_WEIGHT = 3
