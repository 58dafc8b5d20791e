import type { DownloadPeers } from './peers.js'

/** Counts a user can watch. */
export interface DownloadProgress {
  chunksTotal: number
  chunksDone: number
  bytesDone: number
  peers: number
  /** Verified chunks received from each peer, keyed by peer ID string. */
  chunksByPeer: Record<string, number>
  /** Data chunks rebuilt from FEC parity instead of fetched. */
  chunksRebuilt: number
  /** Bytes of the wanted chunks in all. */
  bytesTotal: number
  /** Receive rate over the last few seconds, bytes/s. */
  rate: number
  /** Peers that choke us now. */
  peersChoking: number
  /** Parity chunks fetched to rebuild them. */
  parityFetched: number
}

export interface ProgressMeterInit {
  /** the range of data chunks wanted (inclusive) */
  first: number
  last: number
  /** bytes of a data chunk */
  chunkSize: number
  /** content length in bytes (default: chunks × chunkSize) */
  size?: number
}

/** How far back the receive rate looks (ms). */
const RATE_WINDOW_MS = 5000

/**
 * The download's own counts: chunks of the range still wanted, bytes held, chunks rebuilt and
 * parity fetched, and the receive rate over the last {@link RATE_WINDOW_MS}.
 */
export class ProgressMeter {
  /** chunks of the range (`last - first + 1`) */
  readonly chunksTotal: number
  /** chunks of the range not held yet */
  remaining: number
  bytesDone = 0
  chunksRebuilt = 0
  parityFetched = 0
  private readonly startedAt = performance.now()
  /** recent receive samples for the rate: [time ms, bytes] */
  private readonly recent: Array<[number, number]> = []

  constructor (private readonly init: ProgressMeterInit) {
    this.chunksTotal = init.last - init.first + 1
    this.remaining = Math.max(0, this.chunksTotal)
  }

  /** Chunks of the range held (fetched, rebuilt or already stored). */
  get chunksDone (): number {
    return this.chunksTotal - this.remaining
  }

  /** A chunk of the range of `bytes` bytes is held. */
  held (bytes: number): void {
    this.remaining--
    this.bytesDone += bytes
  }

  /** `bytes` verified bytes arrived at `now` (performance.now() ms). */
  received (now: number, bytes: number): void {
    this.recent.push([now, bytes])
  }

  /** Bytes of the wanted chunks in all. */
  private bytesTotal (): number {
    const { first, last, chunkSize, size } = this.init
    if (last < first) return 0
    const end = Math.min(size ?? Infinity, (last + 1) * chunkSize)
    return end - first * chunkSize
  }

  /** What a user sees of the download now, with its `peers`. */
  snapshot (peers: DownloadPeers): DownloadProgress {
    return {
      bytesTotal: this.bytesTotal(),
      rate: this.rate(),
      peersChoking: peers.choking,
      chunksTotal: this.chunksTotal,
      chunksDone: this.chunksDone,
      bytesDone: this.bytesDone,
      peers: peers.present,
      chunksByPeer: peers.chunksByPeer(),
      chunksRebuilt: this.chunksRebuilt,
      parityFetched: this.parityFetched
    }
  }

  /** Receive rate over the last {@link RATE_WINDOW_MS} (or since the start), bytes/s. */
  private rate (): number {
    const now = performance.now()
    while (this.recent.length > 0 && now - this.recent[0][0] > RATE_WINDOW_MS) this.recent.shift()
    const bytes = this.recent.reduce((n, [, b]) => n + b, 0)
    const span = Math.min(RATE_WINDOW_MS, now - this.startedAt)
    return span <= 0 ? 0 : bytes / (span / 1000)
  }
}
