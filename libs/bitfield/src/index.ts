/**
 * @packageDocumentation
 * The BEP 3 bitfield (the BitTorrent `bitfield` message's layout) of which chunks a peer
 * holds, the one shared by the swarm sessions, the download engine and the tracker: chunk i is
 * bit `7 − i % 8` (most significant first) of byte `i >> 3`, `ceil(size / 8)` bytes, spare bits
 * zero.
 *
 * @example
 * ```ts
 * import { Bitfield } from '@codio/bitfield'
 * const have = new Bitfield(manifest.chunks.length)
 * have.set(0)
 * send(have.toBytes())                              // the wire payload
 * const theirs = Bitfield.fromBytes(size, payload)  // RangeError when malformed
 * Bitfield.problem(payload, size)                   // or why it is, without throwing
 * ```
 */
export { Bitfield } from './bitfield.js'
