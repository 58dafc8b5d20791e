import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { ADAPTIVE_MAX_DEPTH, ADAPTIVE_MIN_DEPTH, ADAPTIVE_QUEUE_TIME_MS, DEFAULT_MAX_BAD_CHUNKS, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_PEER_FAILURES, DEFAULT_PER_PEER_IN_FLIGHT, DEFAULT_STALL_TIMEOUT_MS } from './constants.js'
import type { FecRepair } from './fec-repair.js'
import type { BlockFetcher, ChunkSink } from './fetcher.js'
import type { PickStrategy } from './picker.js'
import type { ReadAhead } from './read-ahead.js'
import type { Download } from './download.js'

/** What a {@link Download} fetches, from and into what, and how. */
export interface DownloadInit {
  /** The data-chunk CIDs of the content, in order. */
  chunks: CID[]
  /** Only these chunk indexes (inclusive). Default: all. */
  first?: number
  last?: number
  /** Fetches verified blocks from peers; its typed failures decide what happens to the peer ({@link BlockFetcher}). */
  fetcher: BlockFetcher
  /** Where verified chunks go; a rejection fails the download ({@link ChunkSink}). */
  sink: ChunkSink
  /**
   * Repair from FEC parity: a wanted data chunk that no peer can supply (every peer refused
   * it, sent bad bytes, or is gone) is rebuilt from its group. Without it such a chunk fails the
   * download once no more peers can come.
   */
  fec?: FecRepair
  /** Order of the chunks beyond the streaming window. Default `'rarest-first'` (BEP 3). */
  strategy?: PickStrategy
  /**
   * Chunks from the reader's position ({@link Download.prioritize}) requested first, in
   * order, before the strategy picks the rest. Default 8.
   */
  streamingWindow?: number
  /**
   * Verified chunks kept in memory ahead of the reader for {@link Download.read}, so that a
   * response streams them without reading them back from the store (see {@link ReadAhead}).
   * Default 0: none, {@link Download.read} reads nothing and the reader uses the store.
   */
  readAhead?: number
  /**
   * Requests in flight per peer: a number, or `'adaptive'` to size each peer's queue to its
   * measured rate × {@link ADAPTIVE_QUEUE_TIME_MS} (libtorrent's request queue sizing), within
   * [{@link ADAPTIVE_MIN_DEPTH}, {@link ADAPTIVE_MAX_DEPTH}]. Default {@link DEFAULT_PER_PEER_IN_FLIGHT}.
   */
  perPeerInFlight?: number | 'adaptive'
  /** Waited on before every request, with the chunk's size (a download rate limit). */
  throttle?(bytes: number, signal: AbortSignal): Promise<void>
  /** Bytes of a data chunk, for the throttle and adaptive depth. Default 1 MiB. */
  chunkSize?: number
  /** Content length in bytes, for `bytesTotal` (default: chunks × chunkSize). */
  size?: number
  /** Requests in flight across all peers. Default {@link DEFAULT_MAX_IN_FLIGHT}. */
  maxInFlight?: number
  /**
   * How long a wanted chunk that no known peer holds waits, after the last sign of progress
   * (a `have`, a new peer, a chunk stored), for a peer still downloading to announce it before
   * the download fails (ms). Default {@link DEFAULT_STALL_TIMEOUT_MS}.
   */
  stallTimeoutMs?: number
  /** Transient failures in a row after which a peer is banned from the download. Default {@link DEFAULT_MAX_PEER_FAILURES}. */
  maxPeerFailures?: number
  /** Chunks failing verification after which a peer is banned from the download. Default {@link DEFAULT_MAX_BAD_CHUNKS}. */
  maxBadChunks?: number
  /** Aborts the download: it fails with DownloadAbortedError. */
  signal?: AbortSignal
  /**
   * Called for every verified block received, with the peer it came from. `index` is the data
   * chunk index; indexes from `chunks.length` on are parity chunks (`chunks.length + g·m + j`).
   */
  onChunk?(peer: PeerId, index: number, bytes: number): void
  /** Called when data chunks were rebuilt from FEC group `group` instead of fetched. */
  onRebuilt?(group: number, chunks: number[], bytes: number): void
}
