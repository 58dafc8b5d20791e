import type { Reliability } from './scoring.js'

/** The chunks of one content ID a peer holds, as the tracker keeps them. */
export interface Holding {
  contentId: string
  /** Chunks of the content, ≥ 1. */
  chunkCount: number
  /** Chunks held. */
  haveCount: number
  /** Every chunk held (`bitfield` is then empty). */
  complete: boolean
  /** BEP 3 bitfield (chunk 0 = high bit of byte 0), empty when `complete`. */
  bitfield: Uint8Array
}

/** A decoded, validated availability message: a full snapshot of what the peer holds. */
export interface AvailabilityUpdate {
  peerId: string
  multiaddrs: string[]
  roles: string[]
  contents: Holding[]
  sequence: number
  /** Sender's clock, Unix ms. */
  timestampMs: number
  /** Entries of the message left out as invalid (decoding keeps the valid ones); absent = 0. */
  droppedContents?: number
  /** Entries past the decoder's limit, skipped unread; absent = 0. */
  skippedContents?: number
}

/** What applying one gossip message did. */
export interface ApplyResult {
  /** The message changed the store. */
  applied: boolean
  /**
   * Why it did not: `stale` (not after the last message applied for the peer), `future`
   * (timestamped past the allowed clock skew), `peers` (a new peer while the tracker already
   * keeps the most peers it may).
   */
  refused?: 'stale' | 'future' | 'peers'
  /** Contents left out past the peer's limit (availability). */
  droppedContents: number
  /** Observations left out because the observed peer is unknown to the tracker (metrics). */
  droppedObservations: number
}

/** One peer's view of another as an upload source. */
export interface Observation {
  peerId: string
  /** Mean rate since the observer's previous report, bytes/s; 0 = no measurement. */
  bytesPerSecond: number
  /** Cumulative since the observer started. */
  failures: number
  /** Cumulative since the observer started. */
  successes: number
}

/** A decoded, validated metrics message. Counters are cumulative since the peer started. */
export interface MetricsUpdate {
  peerId: string
  uptimeSeconds: number
  chunksServed: number
  chunksFailed: number
  bytesServed: number
  observations: Observation[]
  sequence: number
  timestampMs: number
}

/** A peer SelectPeers hands out, best first. */
export interface SelectedPeer {
  peerId: string
  multiaddrs: string[]
  /** [0, 1] */
  reputation: number
  /** bytes/s, 0 when unmeasured */
  downloadSpeedBps: number
  chunkCount: number
  haveCount: number
  complete: boolean
  /** BEP 3 bitfield, empty when `complete`. */
  bitfield: Uint8Array
  /** Hand-outs in the current load window (before this one). */
  load: number
  score: number
}

/** Everything the tracker knows of one peer. */
export interface PeerMetrics {
  peerId: string
  multiaddrs: string[]
  roles: string[]
  online: boolean
  /** Unix ms; 0 when only observations of it are known. */
  lastSeenMs: number
  /** As the peer reports it (not used for ranking). */
  uptimeSeconds: number
  /** Seconds the tracker has been hearing from it: last gossip applied − first (used for ranking); absent when it came over RPC (not in the proto). */
  observedUptimeSeconds?: number
  /** As the peer reports it (not used for ranking). */
  chunksServed: number
  chunksFailed: number
  bytesServed: number
  observedSuccesses: number
  observedFailures: number
  /** bytes/s */
  downloadSpeedBps: number
  speedSamples: number
  reputation: number
  reliability: Reliability
  banned: boolean
  load: number
  contentCount: number
}

/** One (peer, content) pair of ListAvailability. */
export interface AvailabilityEntry extends Holding {
  peerId: string
  /** When the tracker applied the peer's availability, Unix ms. */
  lastSeenMs: number
  online: boolean
}

/** SelectPeers arguments. */
export interface SelectRequest {
  contentId: string
  /** 1..100 */
  count: number
  exclude?: readonly string[]
  requesterPeerId?: string
}

/** ListAvailability arguments: exactly one of `contentId`, `peerId`. */
export type AvailabilityQuery =
  | { contentId: string, peerId?: undefined, includeOffline?: boolean }
  | { peerId: string, contentId?: undefined, includeOffline?: boolean }
