import { BlockState, type BlockTable } from './blocks.js'
import { ENDGAME_MIN_DELAY_MS, HEDGE_FACTOR, HEDGE_MIN_DELAY_MS, HEDGE_MIN_SAMPLES } from './constants.js'
import type { PieceDispatcher } from './dispatcher.js'
import type { DownloadPeer, DownloadPeers } from './peers.js'

/** Fetch times kept for the median a hedge is measured against. */
const FETCH_TIME_SAMPLES = 32

/** How long a download's successful chunk fetches took: what makes a request late. */
export class FetchTimes {
  /** moving average (EWMA) of a successful fetch, ms */
  average = 0
  private readonly recent: number[] = []

  /** A fetch succeeded after `took` ms. */
  record (took: number): void {
    this.average = this.average === 0 ? took : 0.8 * this.average + 0.2 * took
    this.recent.push(took)
    if (this.recent.length > FETCH_TIME_SAMPLES) this.recent.shift()
  }

  /** Median of the recent successful fetch times (ms), or undefined with fewer than {@link HEDGE_MIN_SAMPLES}. */
  median (): number | undefined {
    if (this.recent.length < HEDGE_MIN_SAMPLES) return undefined
    const sorted = [...this.recent].sort((a, b) => a - b)
    return sorted[Math.floor(sorted.length / 2)]
  }
}

export interface EndgameComponents {
  blocks: BlockTable
  peers: DownloadPeers
  dispatcher: PieceDispatcher
  fetchTimes: FetchTimes
  /** the download has failed */
  failed(): boolean
  /** look again at what to request */
  schedule(): void
}

/**
 * Late requests asked of a second peer ("The Tail at Scale", Dean & Barroso 2013): before the
 * endgame, a request far slower than the median ({@link hedge}); in the endgame (BEP 3), any
 * late one ({@link run}). The first verified copy wins and the dispatcher cancels the other.
 */
export class Endgame {
  private endgameTimer: NodeJS.Timeout | undefined
  private hedgeTimer: NodeJS.Timeout | undefined

  constructor (private readonly components: EndgameComponents) {}

  /**
   * Hedged requests before the endgame: a request outstanding for {@link HEDGE_FACTOR} times
   * the median chunk time (at least {@link HEDGE_MIN_DELAY_MS}) is also sent to another peer
   * that holds the chunk and has a free slot. The late peer is demoted to one request at a
   * time until it delivers, so a peer that announces chunks and serves nothing (a hoarder, a
   * trickler) holds up one chunk at most, and only for that long.
   */
  hedge (): void {
    const { blocks, peers, dispatcher } = this.components
    const median = this.components.fetchTimes.median()
    if (median === undefined) return
    const late = Math.max(HEDGE_MIN_DELAY_MS, HEDGE_FACTOR * median)
    const now = performance.now()
    let nextCheck = Infinity
    for (const [index, asked] of blocks.requests) {
      if (blocks.state[index] !== BlockState.InFlight || asked.size !== 1) continue
      const [[slowKey, r]] = asked
      if (now - r.startedAt < late) {
        nextCheck = Math.min(nextCheck, r.startedAt + late - now)
        continue
      }
      if (dispatcher.inFlight >= dispatcher.maxInFlight) break
      let best: DownloadPeer | undefined
      for (const p of peers.values()) {
        if (p.key === slowKey || p.choked || p.demoted || p.inFlight >= peers.depth(p) || !blocks.mayAsk(index, p.key) || !blocks.holds(p.key, index)) continue
        if (best == null || p.inFlight < best.inFlight) best = p
      }
      if (best == null) continue
      const slow = peers.get(slowKey)
      if (slow != null) slow.demoted = true
      r.hedged = true
      dispatcher.request(best, index)
    }
    if (nextCheck < Infinity && this.hedgeTimer == null && !this.components.failed()) {
      this.hedgeTimer = this.lookAgainIn(nextCheck, () => { this.hedgeTimer = undefined })
    }
  }

  /**
   * Endgame (BEP 3): once every missing chunk has been requested, a peer with a free slot also
   * requests a chunk whose request is late elsewhere — outstanding for more than twice the
   * average fetch time, at least {@link ENDGAME_MIN_DELAY_MS}. A slow or dead peer cannot hold
   * back the end of a download, while a download whose requests are all on time asks for
   * nothing twice.
   */
  run (): void {
    const { blocks, peers, dispatcher } = this.components
    for (let i = blocks.first; i <= blocks.last; i++) if (blocks.state[i] === BlockState.Missing && blocks.askable(i)) return
    for (const i of blocks.forRepair) if (blocks.state[i] === BlockState.Missing && blocks.askable(i)) return
    const now = performance.now()
    const late = Math.max(ENDGAME_MIN_DELAY_MS, 2 * this.components.fetchTimes.average)
    let nextCheck = Infinity
    for (const peer of peers.values()) {
      const key = peer.key
      if (!peers.isActive(key) || peer.choked) continue
      while (peer.inFlight < peers.depth(peer)) {
        let best: number | undefined
        let oldest = Infinity
        for (const [index, asked] of blocks.requests) {
          if (blocks.state[index] !== BlockState.InFlight || asked.size >= 2 || asked.has(key) || !blocks.mayAsk(index, key) || !blocks.holds(key, index)) continue
          const startedAt = Math.min(...[...asked.values()].map(r => r.startedAt))
          if (now - startedAt < late) {
            nextCheck = Math.min(nextCheck, startedAt + late - now)
            continue
          }
          if (startedAt < oldest) {
            oldest = startedAt
            best = index
          }
        }
        if (best === undefined) break
        dispatcher.request(peer, best)
      }
    }
    if (nextCheck < Infinity && this.endgameTimer == null) {
      this.endgameTimer = this.lookAgainIn(nextCheck, () => { this.endgameTimer = undefined })
    }
  }

  /** Stop both timers. */
  stop (): void {
    clearTimeout(this.endgameTimer)
    clearTimeout(this.hedgeTimer)
  }

  private lookAgainIn (ms: number, fired: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      fired()
      this.components.schedule()
    }, Math.ceil(ms))
    timer.unref()
    return timer
  }
}
