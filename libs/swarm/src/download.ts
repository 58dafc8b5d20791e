import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { ENDGAME_MIN_DELAY_MS, DEFAULT_MAX_BAD_CHUNKS, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_PEER_FAILURES, DEFAULT_PER_PEER_IN_FLIGHT } from './constants.js'
import { ChunkUnavailableError, DownloadAbortedError } from './errors.js'

/** Fetches one verified block from one peer (see `ChunkExchange.fetch` in @codio/exchange). */
export interface BlockFetcher {
  fetch(peer: PeerId, cid: CID, options?: { signal?: AbortSignal }): Promise<Uint8Array>
}

/** Where verified chunks are kept. */
export interface ChunkSink {
  has(cid: CID): Promise<boolean>
  put(cid: CID, bytes: Uint8Array): Promise<void>
}

export interface DownloadInit {
  /** The data-chunk CIDs of the content, in order. */
  chunks: CID[]
  /** Only these chunk indexes (inclusive). Default: all. */
  first?: number
  last?: number
  fetcher: BlockFetcher
  sink: ChunkSink
  perPeerInFlight?: number
  maxInFlight?: number
  maxPeerFailures?: number
  maxBadChunks?: number
  signal?: AbortSignal
  /** Called for every verified chunk, with the peer it came from. */
  onChunk?(peer: PeerId, index: number, bytes: number): void
}

/** Counts a user can watch. */
export interface DownloadProgress {
  chunksTotal: number
  chunksDone: number
  bytesDone: number
  peers: number
  /** Verified chunks received from each peer, keyed by peer ID string. */
  chunksByPeer: Record<string, number>
}

interface PeerState {
  id: PeerId
  inFlight: number
  failuresInARow: number
  badChunks: number
  chunks: number
}

const enum ChunkState { Missing, InFlight, Done }

/**
 * One content download from a set of peers: every wanted chunk is requested from the peers
 * in parallel (up to `perPeerInFlight` each), verified by the fetcher, stored, and announced
 * to waiting readers. Chunks are scheduled in order from the reader's cursor
 * ({@link Download.prioritize}), so a streaming reader gets the next bytes first. A failed
 * request goes to another peer; a peer that keeps failing, or sends bad data, is dropped.
 * Peers may be added while the download runs ({@link Download.addPeer}).
 */
export class Download {
  readonly first: number
  readonly last: number
  private readonly state: ChunkState[]
  private readonly excluded: Array<Set<string> | undefined>
  private readonly waiters = new Map<number, Array<{ resolve: () => void, reject: (err: Error) => void }>>()
  private readonly peers = new Map<string, PeerState>()
  /** Who is being asked for each in-flight chunk; more than one only in endgame. */
  private readonly requesters = new Map<number, Map<string, { cancel: AbortController, startedAt: number }>>()
  /** Moving average of a successful chunk fetch (ms), for telling a late request. */
  private fetchMs = 0
  private endgameTimer: NodeJS.Timeout | undefined
  private readonly perPeer: number
  private readonly maxInFlight: number
  private inFlight = 0
  private cursor: number
  private remaining: number
  private bytesDone = 0
  private moreProviders = true
  private failure: Error | undefined
  private readonly finished: Promise<void>
  private resolveFinished!: () => void
  private rejectFinished!: (err: Error) => void
  private readonly abort = new AbortController()

  constructor (private readonly init: DownloadInit) {
    this.first = init.first ?? 0
    this.last = init.last ?? init.chunks.length - 1
    this.state = new Array(init.chunks.length).fill(ChunkState.Done)
    for (let i = this.first; i <= this.last; i++) this.state[i] = ChunkState.Missing
    this.excluded = new Array(init.chunks.length)
    this.remaining = Math.max(0, this.last - this.first + 1)
    this.cursor = this.first
    this.perPeer = init.perPeerInFlight ?? DEFAULT_PER_PEER_IN_FLIGHT
    this.maxInFlight = init.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT
    this.finished = new Promise((resolve, reject) => {
      this.resolveFinished = resolve
      this.rejectFinished = reject
    })
    this.finished.catch(() => {})
    init.signal?.addEventListener('abort', () => this.fail(new DownloadAbortedError('download aborted')), { once: true })
  }

  /** Skip the chunks the sink already holds, then start requesting. */
  async start (): Promise<void> {
    for (let i = this.first; i <= this.last; i++) {
      if (await this.init.sink.has(this.init.chunks[i])) this.markDone(i, 0)
    }
    this.settleIfDone()
    this.schedule()
  }

  /** Resolves when every wanted chunk is stored; rejects with the first fatal error. */
  get done (): Promise<void> {
    return this.finished
  }

  /** Add a provider (duplicates are ignored). */
  addPeer (peer: PeerId): void {
    const key = peer.toString()
    if (this.peers.has(key) || this.failure != null) return
    this.peers.set(key, { id: peer, inFlight: 0, failuresInARow: 0, badChunks: 0, chunks: 0 })
    this.schedule()
  }

  /** Say that no more providers will be added: chunks nobody can serve now fail. */
  noMorePeers (): void {
    this.moreProviders = false
    this.schedule()
  }

  /** Move the scheduling cursor: chunks from `index` on are requested first. */
  prioritize (index: number): void {
    this.cursor = Math.min(Math.max(index, this.first), this.last)
    this.schedule()
  }

  /** Resolves once chunk `index` is stored (at once if it is already). */
  async chunk (index: number): Promise<void> {
    if (this.state[index] === ChunkState.Done) return
    if (this.failure != null) throw this.failure
    this.prioritize(index)
    await new Promise<void>((resolve, reject) => {
      const list = this.waiters.get(index) ?? []
      list.push({ resolve, reject })
      this.waiters.set(index, list)
    })
  }

  progress (): DownloadProgress {
    const chunksByPeer: Record<string, number> = {}
    for (const [k, p] of this.peers) chunksByPeer[k] = p.chunks
    return {
      chunksTotal: this.last - this.first + 1,
      chunksDone: this.last - this.first + 1 - this.remaining,
      bytesDone: this.bytesDone,
      peers: this.peers.size,
      chunksByPeer
    }
  }

  /** Stop requesting; waiting readers get `err`. */
  fail (err: Error): void {
    if (this.failure != null || this.remaining === 0) return
    this.failure = err
    clearTimeout(this.endgameTimer)
    this.abort.abort(err)
    for (const list of this.waiters.values()) for (const w of list) w.reject(err)
    this.waiters.clear()
    this.rejectFinished(err)
  }

  private markDone (index: number, bytes: number): void {
    if (this.state[index] === ChunkState.Done) return
    this.state[index] = ChunkState.Done
    this.remaining--
    this.bytesDone += bytes
    const list = this.waiters.get(index)
    if (list != null) {
      this.waiters.delete(index)
      for (const w of list) w.resolve()
    }
  }

  private settleIfDone (): void {
    if (this.remaining !== 0 || this.failure != null) return
    clearTimeout(this.endgameTimer)
    this.resolveFinished()
  }

  /** The next missing chunk at or after the cursor (wrapping) that `peer` may be asked for. */
  private nextChunkFor (peer: string): number | undefined {
    const span = this.last - this.first + 1
    for (let n = 0; n < span; n++) {
      const i = this.first + ((this.cursor - this.first + n) % span)
      if (this.state[i] === ChunkState.Missing && this.excluded[i]?.has(peer) !== true) return i
    }
    return undefined
  }

  private schedule (): void {
    if (this.failure != null || this.remaining === 0) return
    let progressed = true
    while (progressed && this.inFlight < this.maxInFlight) {
      progressed = false
      // least-loaded peer first spreads requests across every provider
      const candidates = [...this.peers.values()]
        .filter(p => p.inFlight < this.perPeer)
        .sort((a, b) => a.inFlight - b.inFlight || Math.random() - 0.5)
      for (const peer of candidates) {
        if (this.inFlight >= this.maxInFlight) break
        const index = this.nextChunkFor(peer.id.toString())
        if (index === undefined) continue
        this.request(peer, index)
        progressed = true
      }
    }
    if (!progressed) this.endgame()
    this.failStranded()
  }

  /**
   * Endgame (BEP 3): once every missing chunk has been requested, a peer with a free slot also
   * requests a chunk whose request is late elsewhere — outstanding for more than twice the
   * average fetch time, at least {@link ENDGAME_MIN_DELAY_MS} (a hedged request, as in "The
   * Tail at Scale", Dean & Barroso 2013). The first verified copy wins and the other request is
   * cancelled, so a slow or dead peer cannot hold back the end of a download, while a download
   * whose requests are all on time asks for nothing twice.
   */
  private endgame (): void {
    for (let i = this.first; i <= this.last; i++) if (this.state[i] === ChunkState.Missing) return
    const now = performance.now()
    const late = Math.max(ENDGAME_MIN_DELAY_MS, 2 * this.fetchMs)
    let nextCheck = Infinity
    for (const peer of this.peers.values()) {
      const key = peer.id.toString()
      while (peer.inFlight < this.perPeer) {
        let best: number | undefined
        let oldest = Infinity
        for (const [index, asked] of this.requesters) {
          if (this.state[index] !== ChunkState.InFlight || asked.size >= 2 || asked.has(key) || this.excluded[index]?.has(key) === true) continue
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
        this.request(peer, best)
      }
    }
    if (nextCheck < Infinity && this.endgameTimer == null) {
      this.endgameTimer = setTimeout(() => {
        this.endgameTimer = undefined
        this.schedule()
      }, Math.ceil(nextCheck))
      this.endgameTimer.unref()
    }
  }

  /** Fail the download when a missing chunk has no peer left to ask and none can come. */
  private failStranded (): void {
    if (this.moreProviders || this.inFlight > 0 || this.failure != null) return
    for (let i = this.first; i <= this.last; i++) {
      if (this.state[i] !== ChunkState.Missing) continue
      const askable = [...this.peers.keys()].some(p => this.excluded[i]?.has(p) !== true)
      if (!askable) {
        this.fail(new ChunkUnavailableError(`no reachable peer has chunk ${i} (${this.init.chunks[i]}); tried ${this.excluded[i]?.size ?? 0} of ${this.peers.size} peers`))
        return
      }
    }
  }

  private request (peer: PeerState, index: number): void {
    const cid = this.init.chunks[index]
    const key = peer.id.toString()
    const cancel = new AbortController()
    const startedAt = performance.now()
    let asked = this.requesters.get(index)
    if (asked == null) this.requesters.set(index, asked = new Map())
    asked.set(key, { cancel, startedAt })
    this.state[index] = ChunkState.InFlight
    peer.inFlight++
    this.inFlight++
    this.init.fetcher.fetch(peer.id, cid, { signal: AbortSignal.any([this.abort.signal, cancel.signal]) })
      .then(async bytes => {
        if (this.state[index] === ChunkState.Done) return
        const took = performance.now() - startedAt
        this.fetchMs = this.fetchMs === 0 ? took : 0.8 * this.fetchMs + 0.2 * took
        await this.init.sink.put(cid, bytes)
        peer.failuresInARow = 0
        peer.chunks++
        this.init.onChunk?.(peer.id, index, bytes.byteLength)
        this.markDone(index, bytes.byteLength)
        // cancel the endgame duplicates that lost the race
        for (const [other, r] of this.requesters.get(index) ?? []) if (other !== key) r.cancel.abort()
        this.settleIfDone()
      })
      .catch((err: Error) => {
        // a cancelled duplicate, or a download that already failed, says nothing about the peer
        if (this.failure != null || (cancel.signal.aborted && this.state[index] === ChunkState.Done)) return
        const others = [...(this.requesters.get(index)?.keys() ?? [])].some(k => k !== key)
        if (this.state[index] === ChunkState.InFlight && !others) this.state[index] = ChunkState.Missing
        if (err.name === 'BlockVerificationError' || err.name === 'BlockRefusedError') {
          // this peer lacks the chunk or lied about it: ask someone else for it
          let set = this.excluded[index]
          if (set == null) this.excluded[index] = set = new Set()
          set.add(key)
          if (err.name === 'BlockVerificationError') peer.badChunks++
        } else {
          // transient (timeout, reset, dial failure): the peer may retry until it fails too often
          peer.failuresInARow++
        }
        const maxFailures = this.init.maxPeerFailures ?? DEFAULT_MAX_PEER_FAILURES
        const maxBad = this.init.maxBadChunks ?? DEFAULT_MAX_BAD_CHUNKS
        if (peer.failuresInARow >= maxFailures || peer.badChunks >= maxBad) {
          // gone or lying: never ask it again in this download
          for (let i = this.first; i <= this.last; i++) {
            let x = this.excluded[i]
            if (x == null) this.excluded[i] = x = new Set()
            x.add(key)
          }
        }
      })
      .finally(() => {
        const left = this.requesters.get(index)
        left?.delete(key)
        if (left?.size === 0) this.requesters.delete(index)
        peer.inFlight--
        this.inFlight--
        this.schedule()
      })
  }
}
