import { BlockState, type BlockRequest, type BlockTable } from './blocks.js'
import type { FetchTimes } from './endgame.js'
import type { BlockFetcher, ChunkSink, FetchFailure, FetchResult } from './fetcher.js'
import type { DownloadPeer, DownloadPeers } from './peers.js'
import type { PiecePicker } from './picker.js'
import type { ProgressMeter } from './progress.js'

export interface PieceDispatcherInit {
  /** requests in flight across all peers */
  maxInFlight: number
  /** bytes of a data chunk, handed to the throttle */
  chunkSize: number
  /** waited on before every request, with the chunk's size (a download rate limit) */
  throttle?(bytes: number, signal: AbortSignal): Promise<void>
}

export interface PieceDispatcherComponents {
  blocks: BlockTable
  peers: DownloadPeers
  picker: PiecePicker
  fetcher: BlockFetcher
  sink: ChunkSink
  fetchTimes: FetchTimes
  progress: ProgressMeter
  /** aborted when the download fails: every request goes with it */
  signal: AbortSignal
  /** the download has failed: answers say nothing more */
  failed(): boolean
  fail(err: Error): void
  /** block `index` was fetched from `peer`, verified and stored */
  stored(peer: DownloadPeer, index: number, bytes: Uint8Array): void
  /** look again at what to request */
  schedule(): void
}

/**
 * The piece dispatcher of one download (Dragonfly's, Kraken's `dispatch`): fills every free
 * request slot, least-loaded peer first, with the next block each peer may be asked for, and
 * acts on each answer by its typed {@link FetchResult}: a verified block is stored, a refusal
 * or a bad block sends the block to another peer, a choke waits for the unchoke, and a peer
 * that keeps failing or lying is banned from the download.
 */
export class PieceDispatcher {
  /** requests in flight across all peers */
  inFlight = 0
  maxInFlight: number

  constructor (private readonly components: PieceDispatcherComponents, private readonly init: PieceDispatcherInit) {
    this.maxInFlight = init.maxInFlight
  }

  /**
   * Send requests until every peer's queue and the download's cap are full, or nothing is left
   * to ask anyone for.
   *
   * @returns false when the last pass found nothing to send (only duplicates are left: the
   *   endgame's cue), true when the caps stopped it
   */
  fill (): boolean {
    const { peers } = this.components
    let progressed = true
    while (progressed && this.inFlight < this.maxInFlight) {
      progressed = false
      // least-loaded peer first spreads requests across every provider
      const candidates = [...peers.values()]
        .filter(p => !p.choked && p.inFlight < peers.depth(p) && peers.isActive(p.key))
        .sort((a, b) => a.inFlight - b.inFlight || Math.random() - 0.5)
      for (const peer of candidates) {
        if (this.inFlight >= this.maxInFlight) break
        const index = this.nextBlockFor(peer.key)
        if (index === undefined) continue
        this.request(peer, index)
        progressed = true
      }
    }
    return progressed
  }

  /** Ask `peer` for block `index` (also as a hedge or in endgame), and act on its answer. */
  request (peer: DownloadPeer, index: number): void {
    const request = this.components.blocks.ask(index, peer.key)
    peer.inFlight++
    this.inFlight++
    void this.run(peer, index, request)
      .catch(err => { this.components.fail(err) })
      .finally(() => {
        this.components.blocks.settle(index, peer.key)
        peer.inFlight--
        this.inFlight--
        this.components.schedule()
      })
  }

  /** Never ask `key` again in this download, and drop what it still owes us. */
  ban (key: string): void {
    this.components.peers.ban(key)
    this.components.blocks.cancelPeer(key, new Error(`peer ${key} banned`))
  }

  /**
   * The next block `peer` may be asked for: repair blocks first (they unblock a chunk nobody
   * else has), then the piece picker's choice among the chunks the peer holds — the streaming
   * window from the reader's position, then rarest-first (or the configured strategy).
   */
  private nextBlockFor (peer: string): number | undefined {
    const { blocks, picker } = this.components
    for (const i of blocks.forRepair) {
      if (blocks.state[i] === BlockState.Missing && blocks.mayAsk(i, peer) && blocks.holds(peer, i)) return i
    }
    return picker.pick(peer, i => blocks.state[i] === BlockState.Missing && blocks.mayAsk(i, peer))
  }

  private async run (peer: DownloadPeer, index: number, request: BlockRequest): Promise<void> {
    const result = await this.fetch(peer, index, request)
    if (result.ok) await this.received(peer, index, request, result.block)
    else this.failed(peer, index, request, result.failure)
  }

  private async fetch (peer: DownloadPeer, index: number, request: BlockRequest): Promise<FetchResult> {
    const signal = AbortSignal.any([this.components.signal, request.cancel.signal])
    try {
      await this.init.throttle?.(this.init.chunkSize, signal)
      return await this.components.fetcher.fetch(peer.id, this.components.blocks.cids[index], { signal })
    } catch (err: any) {
      // the throttle gave up on a cancelled request, or a fetcher broke its contract
      return { ok: false, failure: signal.aborted ? 'aborted' : 'unreachable', error: err }
    }
  }

  private async received (peer: DownloadPeer, index: number, request: BlockRequest, block: Uint8Array): Promise<void> {
    const { blocks, peers } = this.components
    if (blocks.state[index] === BlockState.Done) return
    const now = performance.now()
    const took = now - request.startedAt
    this.components.fetchTimes.record(took)
    peers.delivered(peer, block.byteLength, took)
    this.components.progress.received(now, block.byteLength)
    try {
      await this.components.sink.put(blocks.cids[index], block)
    } catch (err: any) {
      // our own store failed (disk full, read-only): the download cannot go on, and no peer is to blame
      this.components.fail(err)
      return
    }
    peer.failuresInARow = 0
    peer.chunks++
    this.components.stored(peer, index, block)
    // cancel the endgame duplicates that lost the race
    for (const [other, r] of blocks.requests.get(index) ?? []) {
      if (other === peer.key) continue
      r.cancel.abort()
      // a late request that lost to its hedge is the slow peer's failure: one that keeps
      // losing (it announces chunks and serves nothing) is dropped like one that fails
      const slow = r.hedged === true ? peers.get(other) : undefined
      if (slow == null) continue
      slow.failuresInARow++
      if (peers.overLimit(slow)) this.ban(other)
    }
  }

  private failed (peer: DownloadPeer, index: number, request: BlockRequest, failure: FetchFailure): void {
    const { blocks, peers } = this.components
    // a download that already failed says nothing about the peer
    if (this.components.failed()) return
    if (blocks.state[index] === BlockState.InFlight && !blocks.askedElsewhere(index, peer.key)) {
      blocks.state[index] = blocks.counted(index) || blocks.forRepair.has(index) ? BlockState.Missing : BlockState.Unwanted
    }
    // a request we cancelled (an endgame duplicate that lost, a shard a rebuild no longer
    // needs, a peer gone or banned) says nothing about the peer either
    if (request.cancel.signal.aborted || failure === 'aborted') return
    if (failure === 'choked') {
      // not the chunk's fault nor a failure: wait for its unchoke (or retry later when no
      // session will tell us)
      peers.choke(peer, () => { this.components.schedule() })
      return
    }
    if (failure === 'refused' || failure === 'verification') {
      // this peer lacks the chunk or lied about it: ask someone else for it
      blocks.exclude(index, peer.key)
      if (failure === 'verification') peer.badChunks++
    } else {
      // transient (timeout, reset, dial failure): the peer may retry until it fails too often
      peer.failuresInARow++
    }
    // gone or lying: never ask it again in this download, and drop what it still owes us
    if (peers.overLimit(peer)) this.ban(peer.key)
  }
}
