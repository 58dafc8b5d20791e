import type { PeerId } from '@libp2p/interface'
import { ADAPTIVE_MAX_DEPTH, ADAPTIVE_MIN_DEPTH, ADAPTIVE_QUEUE_TIME_MS, CHOKED_RETRY_MS, MAX_QUEUE_BYTES } from './constants.js'

/** One provider of a download, and how its requests go. */
export interface DownloadPeer {
  readonly id: PeerId
  /** `id.toString()` */
  readonly key: string
  inFlight: number
  failuresInARow: number
  badChunks: number
  /** verified chunks received from it */
  chunks: number
  /** the peer chokes us: no new requests until it unchokes */
  choked: boolean
  chokedTimer?: NodeJS.Timeout
  /** receive rate from this peer, bytes/s (EWMA of completed requests) */
  rate: number
  /** a request to it was hedged (late): one request at a time until it delivers again */
  demoted: boolean
}

export interface DownloadPeersInit {
  /** requests in flight per peer, or `'adaptive'` (see {@link DownloadPeers.depth}) */
  perPeerInFlight: number | 'adaptive'
  /** bytes of a data chunk */
  chunkSize: number
  /** transient failures in a row after which a peer is banned */
  maxPeerFailures: number
  /** chunks failing verification after which a peer is banned */
  maxBadChunks: number
}

/**
 * The providers of one download and the state of each one's requests: how many are in flight
 * and how deep its queue may be, its failures, choke state and receive rate. A peer that left
 * may come back; a banned one is never asked again in this download.
 */
export class DownloadPeers {
  /** requests in flight per peer: a number, or `'adaptive'` */
  perPeerInFlight: number | 'adaptive'
  /** Whether more providers may still be added (until `Download.noMorePeers`). */
  moreMayCome = true
  private readonly peers = new Map<string, DownloadPeer>()
  private readonly banned = new Set<string>()
  /** peers that left; added again when they are found again */
  private readonly gone = new Set<string>()
  /** requests one peer may have in flight so their answers fit its read buffer (MAX_QUEUE_BYTES) */
  private readonly maxDepthByBytes: number

  constructor (private readonly init: DownloadPeersInit) {
    this.perPeerInFlight = init.perPeerInFlight
    this.maxDepthByBytes = Math.max(1, Math.floor(MAX_QUEUE_BYTES / init.chunkSize))
  }

  /**
   * Add `id`, or bring back one that left (session closed, connection lost) with a clean slate.
   *
   * @returns false for a peer already here, or banned
   */
  add (id: PeerId): boolean {
    const key = id.toString()
    const known = this.peers.get(key)
    if (known == null) {
      this.peers.set(key, { id, key, inFlight: 0, failuresInARow: 0, badChunks: 0, chunks: 0, choked: false, rate: 0, demoted: false })
      return true
    }
    if (!this.gone.has(key) || this.banned.has(key)) return false
    this.gone.delete(key)
    known.failuresInARow = 0
    known.choked = false
    return true
  }

  /** The peer left: it is sent nothing until {@link add} brings it back. @returns false for an unknown peer */
  leave (key: string): boolean {
    const p = this.peers.get(key)
    if (p == null) return false
    clearTimeout(p.chokedTimer)
    this.gone.add(key)
    return true
  }

  /** Never ask `key` again in this download (its requests are the caller's to cancel). */
  ban (key: string): void {
    this.banned.add(key)
  }

  get (key: string): DownloadPeer | undefined {
    return this.peers.get(key)
  }

  has (key: string): boolean {
    return this.peers.has(key)
  }

  /** Every peer ever added, gone and banned ones too. */
  values (): IterableIterator<DownloadPeer> {
    return this.peers.values()
  }

  keys (): IterableIterator<string> {
    return this.peers.keys()
  }

  /** Peers ever added, gone and banned ones too. */
  get size (): number {
    return this.peers.size
  }

  /** Peers that did not leave (banned ones included). */
  get present (): number {
    return this.peers.size - this.gone.size
  }

  /** Peers that left (and may come back). */
  get goneCount (): number {
    return this.gone.size
  }

  /** Peers that choke us now. */
  get choking (): number {
    let n = 0
    for (const p of this.peers.values()) if (p.choked) n++
    return n
  }

  /** Banned peers' ID strings. */
  bannedKeys (): string[] {
    return [...this.banned]
  }

  /** Neither banned nor gone: the peer may be sent requests. */
  isActive (key: string): boolean {
    return !this.banned.has(key) && !this.gone.has(key)
  }

  /** A provider that left and was not banned may still come back (it is redialled). */
  mayComeBack (): boolean {
    for (const key of this.gone) if (!this.banned.has(key)) return true
    return false
  }

  /**
   * `peer` refused a request as CHOKED: no requests to it until {@link setChoked} unchokes it,
   * or, when no session will tell us, until {@link CHOKED_RETRY_MS} has passed (then `retry`).
   */
  choke (peer: DownloadPeer, retry: () => void): void {
    peer.choked = true
    clearTimeout(peer.chokedTimer)
    peer.chokedTimer = setTimeout(() => { peer.choked = false; retry() }, CHOKED_RETRY_MS)
    peer.chokedTimer.unref()
  }

  /** The peer's session says it choked (`true`) or unchoked us. @returns false for an unknown peer */
  setChoked (key: string, choked: boolean): boolean {
    const p = this.peers.get(key)
    if (p == null) return false
    clearTimeout(p.chokedTimer)
    p.choked = choked
    return true
  }

  /**
   * Requests `peer` may have in flight now: 1 while demoted; else the configured depth, or with
   * `'adaptive'` its measured rate × {@link ADAPTIVE_QUEUE_TIME_MS} in chunks (libtorrent's
   * request queue sizing) within [{@link ADAPTIVE_MIN_DEPTH}, {@link ADAPTIVE_MAX_DEPTH}];
   * never more answers than the request stream's read buffer holds ({@link MAX_QUEUE_BYTES}).
   */
  depth (peer: DownloadPeer): number {
    if (peer.demoted) return 1
    const byBytes = this.maxDepthByBytes
    if (this.perPeerInFlight !== 'adaptive') return Math.min(this.perPeerInFlight, byBytes)
    const want = Math.ceil(peer.rate * (ADAPTIVE_QUEUE_TIME_MS / 1000) / this.init.chunkSize)
    return Math.min(ADAPTIVE_MAX_DEPTH, byBytes, Math.max(ADAPTIVE_MIN_DEPTH, want))
  }

  /** `peer` delivered `bytes` verified bytes in `took` ms: it is no longer demoted, and its rate is updated. */
  delivered (peer: DownloadPeer, bytes: number, took: number): void {
    peer.demoted = false
    // a peer's rate: bytes over time with its queue as deep as it is (EWMA)
    const sample = bytes * Math.max(1, peer.inFlight) / Math.max(took, 1) * 1000
    peer.rate = peer.rate === 0 ? sample : 0.7 * peer.rate + 0.3 * sample
  }

  /** `peer` failed too often in a row, or sent too many bad chunks: ban it. */
  overLimit (peer: DownloadPeer): boolean {
    return peer.failuresInARow >= this.init.maxPeerFailures || peer.badChunks >= this.init.maxBadChunks
  }

  /** Verified chunks received from each peer, keyed by peer ID string. */
  chunksByPeer (): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [k, p] of this.peers) out[k] = p.chunks
    return out
  }

  /** Stop every choke retry timer. */
  stop (): void {
    for (const p of this.peers.values()) clearTimeout(p.chokedTimer)
  }
}
