/**
 * @packageDocumentation
 * BEP 3 choking for the swarm: who we upload to. Tit-for-tat regular slots for the peers that
 * give us the most (or, seeding, take the fastest), plus an optimistic unchoke rotated every
 * 30 s that favours new peers — BitTorrent mainline's algorithm, libtorrent's `fastest_upload`.
 *
 * @example
 * ```ts
 * import { Choker } from '@codio/choker'
 * const choker = new Choker({ regularSlots: 4 })
 * choker.start(
 *   () => ({ peers: conns.map(c => ({ id: c.id, interested: c.interested, connectedAt: c.since,
 *     downloadRate: rates.down(c.id), uploadRate: rates.up(c.id) })), seeding: complete }),
 *   d => { for (const c of conns) c.setChoked(!d.unchoked.has(c.id)) })
 * // on connect / interested: choker.recompute(...) for an immediate decision
 * ```
 */
export {
  DEFAULT_REGULAR_SLOTS, DEFAULT_OPTIMISTIC_SLOTS, DEFAULT_UNCHOKE_INTERVAL_MS,
  DEFAULT_OPTIMISTIC_INTERVAL_MS, DEFAULT_NEW_PEER_MS, NEW_PEER_WEIGHT
} from './constants.js'
export { ChokerRunningError } from './errors.js'
export type { ChokerPeer, ChokerOptions, ChokeDecision } from './types.js'
export { Choker } from './choker.js'
