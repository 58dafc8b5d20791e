import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

/**
 * Why one chunk request failed, in the terms a download acts on:
 *
 * - `choked`: the peer refused because it chokes us (BEP 3 §choking). Neither the chunk's nor
 *   the peer's fault: it is sent nothing until it unchokes (or `CHOKED_RETRY_MS` passes).
 * - `refused`: the peer refused this chunk (it lacks it, is overloaded, ...): another peer is
 *   asked for it, and the peer is not counted as failing.
 * - `verification`: the bytes do not hash to the CID: another peer is asked for the chunk, and
 *   the peer is banned from the download after `maxBadChunks` such chunks.
 * - `timeout`: no answer within the fetcher's time limit.
 * - `denied`: this node refuses to exchange with the peer.
 * - `protocol`: the peer broke the protocol (a malformed or unexpected answer, a closed stream).
 * - `unreachable`: anything else; the peer could not be dialled, or the connection was lost.
 * - `aborted`: the request's signal fired (the download cancelled it): nothing is said of the peer.
 *
 * `timeout`, `denied`, `protocol` and `unreachable` are transient: the peer is banned from the
 * download after `maxPeerFailures` of them in a row.
 */
export type FetchFailure = 'choked' | 'refused' | 'verification' | 'timeout' | 'denied' | 'protocol' | 'unreachable' | 'aborted'

/** How one chunk request ended: the verified bytes, or why there are none (with the cause, if any). */
export type FetchResult =
  | { ok: true, block: Uint8Array }
  | { ok: false, failure: FetchFailure, error?: Error }

/**
 * Fetches one block from one peer, verified against its CID. `fetch` settles every failure as a
 * {@link FetchResult}; should it reject all the same, the download counts that as `unreachable`.
 * `exchangeFetcher` (exchange-fetcher.ts) adapts `ChunkExchange` of @codio/exchange.
 */
export interface BlockFetcher {
  fetch(peer: PeerId, cid: CID, options?: { signal?: AbortSignal }): Promise<FetchResult>
}

/**
 * Where verified chunks are kept. A promise that rejects is a failure of the store itself (disk
 * full, read-only, closed), never of a peer: the download fails with that error and blames no
 * peer (`Download.start` rejects with the error of a `has` it makes).
 */
export interface ChunkSink {
  has(cid: CID): Promise<boolean>
  get(cid: CID): Promise<Uint8Array | undefined>
  put(cid: CID, bytes: Uint8Array): Promise<void>
}
