import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { ENDGAME_MIN_DELAY_MS, DEFAULT_MAX_BAD_CHUNKS, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_PEER_FAILURES, DEFAULT_PER_PEER_IN_FLIGHT, ADAPTIVE_QUEUE_TIME_MS, ADAPTIVE_MIN_DEPTH, ADAPTIVE_MAX_DEPTH, MAX_QUEUE_BYTES, CHOKED_RETRY_MS, DEFAULT_STALL_TIMEOUT_MS, HEDGE_FACTOR, HEDGE_MIN_DELAY_MS, HEDGE_MIN_SAMPLES } from './constants.js'
import { ChunkUnavailableError, DownloadAbortedError } from './errors.js'
import type { Bitfield } from '@codio/bitfield'
import { ReadAhead } from './read-ahead.js'
import { PiecePicker, type PickStrategy } from './picker.js'

/** Fetches one verified block from one peer (see `ChunkExchange.fetch` in @codio/exchange). */
export interface BlockFetcher {
  fetch(peer: PeerId, cid: CID, options?: { signal?: AbortSignal }): Promise<Uint8Array>
}

/** Where verified chunks are kept. */
export interface ChunkSink {
  has(cid: CID): Promise<boolean>
  get(cid: CID): Promise<Uint8Array | undefined>
  put(cid: CID, bytes: Uint8Array): Promise<void>
}

/**
 * How a download repairs data chunks from Reed-Solomon parity (`fecPlan` of @codio/fec
 * implements it). Group `g` holds data chunks `layout(g).first..last` and the parity chunks
 * `parity(g)`; any `layout(g).dataCount` verified shards of the group rebuild all of its data.
 */
export interface FecRepair {
  readonly groupCount: number
  groupOf(chunk: number): number
  layout(group: number): { first: number, last: number, dataCount: number }
  parity(group: number): CID[]
  /**
   * @param shards - the group's data chunks then its parity chunks, `undefined` where missing
   * @returns the group's data chunks, rebuilt ones verified against their CIDs
   */
  rebuild(group: number, shards: Array<Uint8Array | undefined>): Promise<Uint8Array[]>
}

export interface DownloadInit {
  /** The data-chunk CIDs of the content, in order. */
  chunks: CID[]
  /** Only these chunk indexes (inclusive). Default: all. */
  first?: number
  last?: number
  fetcher: BlockFetcher
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
  maxInFlight?: number
  /**
   * How long a wanted chunk that no known peer holds waits, after the last sign of progress
   * (a `have`, a new peer, a chunk stored), for a peer still downloading to announce it before
   * the download fails (ms). Default {@link DEFAULT_STALL_TIMEOUT_MS}.
   */
  stallTimeoutMs?: number
  maxPeerFailures?: number
  maxBadChunks?: number
  signal?: AbortSignal
  /**
   * Called for every verified block received, with the peer it came from. `index` is the data
   * chunk index; indexes from `chunks.length` on are parity chunks (`chunks.length + g·m + j`).
   */
  onChunk?(peer: PeerId, index: number, bytes: number): void
  /** Called when data chunks were rebuilt from FEC group `group` instead of fetched. */
  onRebuilt?(group: number, chunks: number[], bytes: number): void
}

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

interface PeerState {
  id: PeerId
  inFlight: number
  failuresInARow: number
  badChunks: number
  chunks: number
  /** the peer chokes us: no new requests until it unchokes */
  choked: boolean
  chokedTimer?: NodeJS.Timeout
  /** receive rate from this peer, bytes/s (EWMA of completed requests) */
  rate: number
  /** a request to it was hedged (late): one request at a time until it delivers again */
  demoted: boolean
}

/** A FEC group being repaired: its member blocks (data, then parity) and where it stands. */
interface Repair {
  group: number
  members: number[]
  dataCount: number
  /** member blocks not yet checked against the sink */
  checking: boolean
  rebuilding: boolean
  done: boolean
}

const enum BlockState { Unwanted, Missing, InFlight, Done }

/** `RefusalCode.CHOKED` of codio.exchange.v1 (the wire value; this package does not import the protos). */
const REFUSAL_CHOKED = 3

/**
 * One content download from a set of peers: every wanted chunk is requested from the peers
 * in parallel (up to `perPeerInFlight` each), verified by the fetcher, stored, and announced
 * to waiting readers. Chunks are scheduled in order from the reader's cursor
 * ({@link Download.prioritize}), so a streaming reader gets the next bytes first. A failed
 * request goes to another peer; a peer that keeps failing, or sends bad data, is dropped.
 * Peers may be added while the download runs ({@link Download.addPeer}).
 *
 * With `fec`, a data chunk that no current peer can supply is repaired instead of waited
 * for: the other shards of its FEC group are fetched (data chunks first, then only as many
 * parity chunks as are still short of k) and the group is rebuilt from any k verified shards.
 */
export class Download {
  readonly first: number
  readonly last: number
  /** data chunk CIDs, then every group's parity CIDs */
  private readonly blocks: CID[]
  private readonly dataCount: number
  private readonly state: BlockState[]
  /** peers that refused a block or sent bad bytes for it */
  private readonly excluded: Array<Set<string> | undefined>
  /** peers never asked again in this download */
  private readonly banned = new Set<string>()
  /** peers that left; added again when they are found again */
  private readonly gone = new Set<string>()
  private readonly waiters = new Map<number, Array<{ resolve: () => void, reject: (err: Error) => void }>>()
  private readonly peers = new Map<string, PeerState>()
  /** Who is being asked for each in-flight block; more than one only in endgame. */
  private readonly requesters = new Map<number, Map<string, { cancel: AbortController, startedAt: number, hedged?: boolean }>>()
  private readonly repairs = new Map<number, Repair>()
  /** blocks wanted only for a repair (parity, data outside the range), asked for first */
  private readonly repairBlocks = new Set<number>()
  /** Moving average of a successful chunk fetch (ms), for telling a late request. */
  private fetchMs = 0
  /** The last successful fetch times (ms), for the median a hedge is measured against. */
  private readonly fetchTimes: number[] = []
  private endgameTimer: NodeJS.Timeout | undefined
  private hedgeTimer: NodeJS.Timeout | undefined
  private stallTimer: NodeJS.Timeout | undefined
  /** last `have`, new peer or stored chunk (performance.now() ms), for the stall timeout */
  private lastProgress = performance.now()
  private perPeer: number | 'adaptive'
  private maxInFlight: number
  private readonly picker: PiecePicker
  private readonly chunkBytes: number
  private readonly startedAt = performance.now()
  /** recent receive samples for the rate: [time ms, bytes] */
  private readonly recent: Array<[number, number]> = []
  private inFlight = 0
  private started = false
  private remaining: number
  private bytesDone = 0
  private chunksRebuilt = 0
  private parityFetched = 0
  private moreProviders = true
  private failure: Error | undefined
  private readonly finished: Promise<void>
  private resolveFinished!: () => void
  private rejectFinished!: (err: Error) => void
  private readonly abort = new AbortController()
  private readonly readAhead: ReadAhead
  /** requests one peer may have in flight so their answers fit its read buffer (MAX_QUEUE_BYTES) */
  private readonly maxDepthByBytes: number

  constructor (private readonly init: DownloadInit) {
    this.first = init.first ?? 0
    this.last = init.last ?? init.chunks.length - 1
    this.dataCount = init.chunks.length
    this.blocks = [...init.chunks]
    const fec = init.fec
    if (fec != null) for (let g = 0; g < fec.groupCount; g++) this.blocks.push(...fec.parity(g))
    this.state = new Array(this.blocks.length).fill(BlockState.Unwanted)
    for (let i = this.first; i <= this.last; i++) this.state[i] = BlockState.Missing
    this.excluded = new Array(this.blocks.length)
    this.remaining = Math.max(0, this.last - this.first + 1)
    this.perPeer = init.perPeerInFlight ?? DEFAULT_PER_PEER_IN_FLIGHT
    this.maxInFlight = init.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT
    this.chunkBytes = init.chunkSize ?? 1024 * 1024
    this.readAhead = new ReadAhead(init.readAhead ?? 0, this.first)
    this.maxDepthByBytes = Math.max(1, Math.floor(MAX_QUEUE_BYTES / this.chunkBytes))
    this.picker = new PiecePicker({ pieces: this.dataCount, strategy: init.strategy ?? 'rarest-first', streamingWindow: init.streamingWindow ?? 8 })
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
      if (await this.init.sink.has(this.blocks[i])) this.markDone(i, 0)
    }
    this.started = true
    this.settleIfDone()
    this.schedule()
  }

  /**
   * Change how this download requests from now on (a live configuration change): requests in
   * flight per peer and in all, piece order, streaming window. Fields left out keep their
   * value; everything is checked before anything changes. A larger limit sends the extra
   * requests at once; a smaller one lets those in flight finish.
   *
   * @throws RangeError for a limit that is not an integer ≥ 1 (or "adaptive" per peer), a bad
   *   strategy or window
   */
  reconfigure (opts: Pick<DownloadInit, 'perPeerInFlight' | 'maxInFlight' | 'strategy' | 'streamingWindow'>): void {
    const perPeer = opts.perPeerInFlight ?? this.perPeer
    const maxInFlight = opts.maxInFlight ?? this.maxInFlight
    if (perPeer !== 'adaptive' && (!Number.isInteger(perPeer) || perPeer < 1)) throw new RangeError(`perPeerInFlight must be an integer ≥ 1 or "adaptive", got ${String(perPeer)}`)
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new RangeError(`maxInFlight must be an integer ≥ 1, got ${maxInFlight}`)
    this.picker.configure({ strategy: opts.strategy, streamingWindow: opts.streamingWindow })
    this.perPeer = perPeer
    this.maxInFlight = maxInFlight
    this.schedule()
  }

  /** Resolves when every wanted chunk is stored; rejects with the first fatal error. */
  get done (): Promise<void> {
    return this.finished
  }

  /**
   * Add a provider (duplicates are ignored) and what it holds: its bitfield from the session
   * handshake, or `'all'` (the default) for a peer known to hold the whole content.
   */
  addPeer (peer: PeerId, has: Bitfield | 'all' = 'all'): void {
    const key = peer.toString()
    if (this.failure != null) return
    const known = this.peers.get(key)
    if (known != null) {
      // a peer that left (session closed, connection lost) may come back; a banned one may not
      if (!this.gone.has(key) || this.banned.has(key)) return
      this.gone.delete(key)
      known.failuresInARow = 0
      known.choked = false
    } else {
      this.peers.set(key, { id: peer, inFlight: 0, failuresInARow: 0, badChunks: 0, chunks: 0, choked: false, rate: 0, demoted: false })
    }
    this.picker.addPeer(key, has)
    this.lastProgress = performance.now()
    this.schedule()
  }

  /** `peer` now holds data chunk `index` (BEP 3 `have`). */
  have (peer: PeerId, index: number): void {
    const key = peer.toString()
    if (!this.peers.has(key) || index < 0 || index >= this.dataCount) return
    this.picker.have(key, index)
    this.lastProgress = performance.now()
    this.schedule()
  }

  /** `peer` choked (`true`) or unchoked us: a choked peer gets no new requests. */
  setChoked (peer: PeerId, choked: boolean): void {
    const p = this.peers.get(peer.toString())
    if (p == null) return
    clearTimeout(p.chokedTimer)
    p.choked = choked
    if (!choked) this.schedule()
  }

  /**
   * `peer` is gone (disconnected, session closed): its requests in flight are cancelled at once
   * and go to other peers. It is asked again if {@link addPeer} brings it back.
   */
  removePeer (peer: PeerId): void {
    const key = peer.toString()
    const p = this.peers.get(key)
    if (p == null) return
    clearTimeout(p.chokedTimer)
    this.gone.add(key)
    this.picker.removePeer(key)
    for (const asked of this.requesters.values()) asked.get(key)?.cancel.abort(new Error(`peer ${key} is gone`))
    this.schedule()
  }

  /** Say that no more providers will be added: chunks nobody can serve now fail. */
  noMorePeers (): void {
    this.moreProviders = false
    this.schedule()
  }

  /** Move the reader's position: the streaming window from `index` on is requested first. */
  prioritize (index: number): void {
    this.picker.setCursor(Math.min(Math.max(index, this.first), this.last))
    this.schedule()
  }

  /**
   * Resolves once chunk `index` is stored (at once if it is already).
   *
   * @throws RangeError if `index` is outside this download's `first..last`
   */
  async chunk (index: number): Promise<void> {
    if (!(index >= this.first && index <= this.last)) throw new RangeError(`chunk ${index} is outside this download's chunks ${this.first}..${this.last}`)
    if (this.state[index] === BlockState.Done) return
    if (this.failure != null) throw this.failure
    this.prioritize(index)
    await new Promise<void>((resolve, reject) => {
      const list = this.waiters.get(index) ?? []
      list.push({ resolve, reject })
      this.waiters.set(index, list)
    })
  }

  /**
   * Resolves once chunk `index` is stored, with its verified bytes when this download still
   * holds them for its reader (see `readAhead`), else undefined: read the store then. Each
   * chunk's bytes are handed out once; the reader's position moves to `index + 1`.
   *
   * @throws RangeError if `index` is outside this download's `first..last`
   */
  async read (index: number): Promise<Uint8Array | undefined> {
    await this.chunk(index)
    return this.readAhead.take(index)
  }

  /** Chunks of the range held (fetched, rebuilt or already stored), without building a {@link progress} snapshot. */
  get chunksDone (): number {
    return this.last - this.first + 1 - this.remaining
  }

  /**
   * Peers banned from this download (peer ID strings): {@link DEFAULT_MAX_BAD_CHUNKS} chunks
   * that failed SHA-256 verification, or too many failures in a row. Never asked again here.
   */
  bannedPeers (): string[] {
    return [...this.banned]
  }

  progress (): DownloadProgress {
    const chunksByPeer: Record<string, number> = {}
    for (const [k, p] of this.peers) chunksByPeer[k] = p.chunks
    let peersChoking = 0
    for (const p of this.peers.values()) if (p.choked) peersChoking++
    return {
      bytesTotal: this.bytesTotal(),
      rate: this.rate(),
      peersChoking,
      chunksTotal: this.last - this.first + 1,
      chunksDone: this.chunksDone,
      bytesDone: this.bytesDone,
      peers: this.peers.size - this.gone.size,
      chunksByPeer,
      chunksRebuilt: this.chunksRebuilt,
      parityFetched: this.parityFetched
    }
  }

  /** Stop requesting; waiting readers get `err`. */
  fail (err: Error): void {
    if (this.failure != null || this.remaining === 0) return
    this.failure = err
    clearTimeout(this.endgameTimer)
    clearTimeout(this.hedgeTimer)
    clearTimeout(this.stallTimer)
    for (const p of this.peers.values()) clearTimeout(p.chokedTimer)
    this.abort.abort(err)
    for (const list of this.waiters.values()) for (const w of list) w.reject(err)
    this.waiters.clear()
    this.rejectFinished(err)
  }

  private bytesTotal (): number {
    if (this.last < this.first) return 0
    const end = Math.min(this.init.size ?? Infinity, (this.last + 1) * this.chunkBytes)
    return end - this.first * this.chunkBytes
  }

  /** Receive rate over the last 5 s (or since the start), bytes/s. */
  private rate (): number {
    const now = performance.now()
    while (this.recent.length > 0 && now - this.recent[0][0] > 5000) this.recent.shift()
    const bytes = this.recent.reduce((n, [, b]) => n + b, 0)
    const span = Math.min(5000, now - this.startedAt)
    return span <= 0 ? 0 : bytes / (span / 1000)
  }

  /** Requests `peer` may have in flight now. */
  private depth (peer: PeerState): number {
    if (peer.demoted) return 1
    // never more answers outstanding than the request stream's read buffer holds
    const byBytes = this.maxDepthByBytes
    if (this.perPeer !== 'adaptive') return Math.min(this.perPeer, byBytes)
    // libtorrent: queue = download rate × request queue time / block size
    const want = Math.ceil(peer.rate * (ADAPTIVE_QUEUE_TIME_MS / 1000) / this.chunkBytes)
    return Math.min(ADAPTIVE_MAX_DEPTH, byBytes, Math.max(ADAPTIVE_MIN_DEPTH, want))
  }

  private counted (index: number): boolean {
    return index >= this.first && index <= this.last
  }

  private markDone (index: number, bytes: number): void {
    if (this.state[index] === BlockState.Done) return
    this.state[index] = BlockState.Done
    this.lastProgress = performance.now()
    this.repairBlocks.delete(index)
    if (index < this.dataCount) this.picker.weHave(index)
    if (!this.counted(index)) return
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
    clearTimeout(this.hedgeTimer)
    clearTimeout(this.stallTimer)
    for (const p of this.peers.values()) clearTimeout(p.chokedTimer)
    this.resolveFinished()
  }

  /** Neither banned nor gone: the peer may be sent requests. */
  private active (peer: string): boolean {
    return !this.banned.has(peer) && !this.gone.has(peer)
  }

  private mayAsk (index: number, peer: string): boolean {
    return this.active(peer) && this.excluded[index]?.has(peer) !== true
  }

  /**
   * Some known peer may still be asked for block `index` and holds it (for a data chunk, as
   * its bitfield says; parity chunks are not in bitfields, so any peer may have them).
   */
  private askable (index: number): boolean {
    for (const key of this.peers.keys()) {
      if (this.mayAsk(index, key) && (index >= this.dataCount || this.picker.peerHas(key, index))) return true
    }
    return false
  }

  /**
   * The next block `peer` may be asked for: repair blocks first (they unblock a chunk nobody
   * else has), then the piece picker's choice among the chunks the peer holds — the streaming
   * window from the reader's position, then rarest-first (or the configured strategy).
   */
  private nextChunkFor (peer: string): number | undefined {
    for (const i of this.repairBlocks) {
      if (this.state[i] === BlockState.Missing && this.mayAsk(i, peer) && (i >= this.dataCount || this.picker.peerHas(peer, i))) return i
    }
    return this.picker.pick(peer, i => this.state[i] === BlockState.Missing && this.mayAsk(i, peer))
  }

  private schedule (): void {
    // nothing is requested before start() knows what the sink already holds
    if (!this.started || this.failure != null || this.remaining === 0) return
    if (this.init.fec != null) this.planRepairs()
    // late requests get the first free slots
    this.hedge()
    let progressed = true
    while (progressed && this.inFlight < this.maxInFlight) {
      progressed = false
      // least-loaded peer first spreads requests across every provider
      const candidates = [...this.peers.values()]
        .filter(p => !p.choked && p.inFlight < this.depth(p) && this.active(p.id.toString()))
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

  /** Median of the recent successful fetch times (ms), or undefined with too few. */
  private medianFetchMs (): number | undefined {
    if (this.fetchTimes.length < HEDGE_MIN_SAMPLES) return undefined
    const sorted = [...this.fetchTimes].sort((a, b) => a - b)
    return sorted[Math.floor(sorted.length / 2)]
  }

  /**
   * Hedged requests before the endgame ("The Tail at Scale", Dean & Barroso 2013): a request
   * outstanding for {@link HEDGE_FACTOR} times the median chunk time (at least
   * {@link HEDGE_MIN_DELAY_MS}) is also sent to another peer that holds the chunk and has a
   * free slot; the first verified copy wins. The late peer is demoted to one request at a
   * time until it delivers, so a peer that announces chunks and serves nothing (a hoarder, a
   * trickler) holds up one chunk at most, and only for that long.
   */
  private hedge (): void {
    const median = this.medianFetchMs()
    if (median === undefined) return
    const late = Math.max(HEDGE_MIN_DELAY_MS, HEDGE_FACTOR * median)
    const now = performance.now()
    let nextCheck = Infinity
    for (const [index, asked] of this.requesters) {
      if (this.state[index] !== BlockState.InFlight || asked.size !== 1) continue
      const [[slowKey, r]] = asked
      if (now - r.startedAt < late) {
        nextCheck = Math.min(nextCheck, r.startedAt + late - now)
        continue
      }
      if (this.inFlight >= this.maxInFlight) break
      let best: PeerState | undefined
      for (const p of this.peers.values()) {
        const key = p.id.toString()
        if (key === slowKey || p.choked || p.demoted || p.inFlight >= this.depth(p) || !this.mayAsk(index, key)) continue
        if (index < this.dataCount && !this.picker.peerHas(key, index)) continue
        if (best == null || p.inFlight < best.inFlight) best = p
      }
      if (best == null) continue
      const slow = this.peers.get(slowKey)
      if (slow != null) slow.demoted = true
      r.hedged = true
      this.request(best, index)
    }
    if (nextCheck < Infinity && this.hedgeTimer == null && this.failure == null) {
      this.hedgeTimer = setTimeout(() => {
        this.hedgeTimer = undefined
        this.schedule()
      }, Math.ceil(nextCheck))
      this.hedgeTimer.unref()
    }
  }

  /**
   * Start repairing the group of every wanted chunk no known peer can supply, and keep each
   * repair supplied: once k shards are in, rebuild; while fewer than k are done, in flight or
   * still askable, want one more shard of the group (its data chunks first, then parity).
   */
  private planRepairs (): void {
    const fec = this.init.fec!
    if (this.peers.size > 0) {
      for (let i = this.first; i <= this.last; i++) {
        if (this.state[i] !== BlockState.Missing || this.askable(i)) continue
        if (this.awaitAnnouncement(i)) continue
        const group = fec.groupOf(i)
        if (!this.repairs.has(group)) this.startRepair(group)
      }
    }
    for (const r of this.repairs.values()) {
      if (r.checking || r.rebuilding || r.done) continue
      let done = 0
      let potential = 0
      for (const b of r.members) {
        const s = this.state[b]
        if (s === BlockState.Done) done++
        if (s === BlockState.Done || s === BlockState.InFlight || (s === BlockState.Missing && (this.askable(b) || this.mayBeAnnounced(b)))) potential++
      }
      if (done >= r.dataCount) {
        void this.rebuild(r)
        continue
      }
      for (const b of r.members) {
        if (potential >= r.dataCount) break
        if (this.state[b] !== BlockState.Unwanted) continue
        this.state[b] = BlockState.Missing
        this.repairBlocks.add(b)
        if (this.askable(b) || this.moreProviders) potential++
      }
    }
  }

  private startRepair (group: number): void {
    const fec = this.init.fec!
    const { first, last, dataCount } = fec.layout(group)
    const m = fec.parity(group).length
    const parityBase = this.dataCount + group * m
    const members = [
      ...Array.from({ length: last - first + 1 }, (_, j) => first + j),
      ...Array.from({ length: m }, (_, j) => parityBase + j)
    ]
    const r: Repair = { group, members, dataCount, checking: true, rebuilding: false, done: false }
    this.repairs.set(group, r)
    // shards the sink already holds count without a fetch
    void (async () => {
      for (const b of members) {
        if (this.state[b] === BlockState.Unwanted && await this.init.sink.has(this.blocks[b])) this.state[b] = BlockState.Done
      }
      r.checking = false
      this.schedule()
    })().catch(err => this.fail(err))
  }

  private async rebuild (r: Repair): Promise<void> {
    r.rebuilding = true
    const fec = this.init.fec!
    try {
      const shards = await Promise.all(r.members.map(async b => this.state[b] === BlockState.Done ? await this.init.sink.get(this.blocks[b]) : undefined))
      if (this.failure != null) return
      const present = shards.filter(s => s != null).length
      if (present < r.dataCount) {
        // the sink lost blocks it had (evicted meanwhile): want them again, from a peer or the
        // rebuild; a chunk of the range lost counts as not held until it is back
        r.members.forEach((b, j) => {
          if (shards[j] != null || this.state[b] !== BlockState.Done) return
          this.state[b] = BlockState.Unwanted
          if (this.counted(b)) this.remaining++
        })
        r.rebuilding = false
        this.schedule()
        return
      }
      const data = await fec.rebuild(r.group, shards)
      const rebuilt: number[] = []
      let bytes = 0
      for (let j = 0; j < data.length; j++) {
        const b = r.members[j]
        if (this.state[b] === BlockState.Done) continue
        await this.init.sink.put(this.blocks[b], data[j])
        if ((this.state[b] as BlockState) === BlockState.Done) continue // fetched meanwhile
        for (const req of this.requesters.get(b)?.values() ?? []) req.cancel.abort()
        this.readAhead.done(b, data[j])
        this.markDone(b, data[j].byteLength)
        rebuilt.push(b)
        bytes += data[j].byteLength
      }
      // parity still wanted or in flight is no longer needed
      for (const b of r.members.slice(data.length)) {
        for (const req of this.requesters.get(b)?.values() ?? []) req.cancel.abort()
        if (this.state[b] === BlockState.Missing) this.state[b] = BlockState.Unwanted
        this.repairBlocks.delete(b)
      }
      r.done = true
      r.rebuilding = false
      this.chunksRebuilt += rebuilt.length
      if (rebuilt.length > 0) this.init.onRebuilt?.(r.group, rebuilt, bytes)
      this.settleIfDone()
      this.schedule()
    } catch (err: any) {
      this.fail(new ChunkUnavailableError(`FEC group ${r.group} could not be rebuilt: ${err.message}`, { cause: err }))
    }
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
    for (let i = this.first; i <= this.last; i++) if (this.state[i] === BlockState.Missing && this.askable(i)) return
    for (const i of this.repairBlocks) if (this.state[i] === BlockState.Missing && this.askable(i)) return
    const now = performance.now()
    const late = Math.max(ENDGAME_MIN_DELAY_MS, 2 * this.fetchMs)
    let nextCheck = Infinity
    for (const peer of this.peers.values()) {
      const key = peer.id.toString()
      if (!this.active(key) || peer.choked) continue
      while (peer.inFlight < this.depth(peer)) {
        let best: number | undefined
        let oldest = Infinity
        for (const [index, asked] of this.requesters) {
          if (this.state[index] !== BlockState.InFlight || asked.size >= 2 || asked.has(key) || !this.mayAsk(index, key)) continue
          if (index < this.dataCount && !this.picker.peerHas(key, index)) continue
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

  /**
   * Fail the download when a wanted chunk has no peer left to ask, none can come, nothing is
   * in flight, and its FEC group (if any) cannot be completed either.
   */
  private failStranded (): void {
    if (this.moreProviders || this.inFlight > 0 || this.failure != null) return
    for (const r of this.repairs.values()) if (r.checking || r.rebuilding) return
    for (let i = this.first; i <= this.last; i++) {
      if (this.state[i] !== BlockState.Missing || this.askable(i)) continue
      if (this.init.fec != null && this.peers.size > 0) {
        const r = this.repairs.get(this.init.fec.groupOf(i))
        if (r != null && !r.done && r.members.some(b => this.state[b] === BlockState.Missing && this.askable(b))) continue
      }
      if (this.awaitAnnouncement(i, true)) return
      const tried = this.excluded[i]?.size ?? 0
      const fec = this.init.fec == null ? '' : '; its FEC group has too few shards left to rebuild it'
      this.fail(new ChunkUnavailableError(`no reachable peer has chunk ${i} (${this.blocks[i]}); tried ${tried} of ${this.peers.size} peers (${this.gone.size} gone)${fec}`))
      return
    }
  }

  /**
   * Whether a peer that may be asked for chunk `index` is still downloading (a partial
   * bitfield, or a super-seed revealing), or with `orComeBack` a provider that left and was not
   * banned may come back, and the stall timeout since the last progress has not run out: then
   * the chunk is waited for, not failed (and, but for a provider gone, not rebuilt from parity:
   * FEC repair does not wait for a peer that left).
   */
  private mayBeAnnounced (index: number, orComeBack = false): boolean {
    if (index >= this.dataCount) return false
    if (performance.now() - this.lastProgress >= (this.init.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS)) return false
    for (const key of this.peers.keys()) if (this.mayAsk(index, key) && this.picker.isPartial(key)) return true
    // a provider whose connection dropped may come back (it is redialled; a link that is down
    // for a few seconds must not fail the download at once): wait for it as well
    if (orComeBack) for (const key of this.gone) if (!this.banned.has(key)) return true
    return false
  }

  /**
   * Whether stranded chunk `index` may still be announced by a peer that is downloading too (a
   * partial bitfield): then wait, up to the stall timeout after the last progress, and look again.
   */
  private awaitAnnouncement (index: number, orComeBack = false): boolean {
    if (!this.mayBeAnnounced(index, orComeBack)) return false
    this.armStallTimer()
    return true
  }

  /** Look again once the stall timeout since the last progress runs out. */
  private armStallTimer (): void {
    if (this.stallTimer != null) return
    const left = (this.init.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS) - (performance.now() - this.lastProgress)
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined
      this.schedule()
    }, Math.max(1, Math.ceil(left)))
    this.stallTimer.unref()
  }

  /** Never ask `key` again in this download, and drop what it still owes us. */
  private ban (key: string): void {
    this.banned.add(key)
    for (const asked of this.requesters.values()) asked.get(key)?.cancel.abort(new Error(`peer ${key} banned`))
  }

  private request (peer: PeerState, index: number): void {
    const cid = this.blocks[index]
    const key = peer.id.toString()
    const cancel = new AbortController()
    const startedAt = performance.now()
    let asked = this.requesters.get(index)
    if (asked == null) this.requesters.set(index, asked = new Map())
    asked.set(key, { cancel, startedAt })
    this.state[index] = BlockState.InFlight
    peer.inFlight++
    this.inFlight++
    const signal = AbortSignal.any([this.abort.signal, cancel.signal])
    const throttled = this.init.throttle == null ? Promise.resolve() : this.init.throttle(this.chunkBytes, signal)
    throttled.then(async () => await this.init.fetcher.fetch(peer.id, cid, { signal }))
      .then(async bytes => {
        if (this.state[index] === BlockState.Done) return
        const now = performance.now()
        const took = now - startedAt
        this.fetchMs = this.fetchMs === 0 ? took : 0.8 * this.fetchMs + 0.2 * took
        this.fetchTimes.push(took)
        if (this.fetchTimes.length > 32) this.fetchTimes.shift()
        peer.demoted = false
        // a peer's rate: bytes over time with its queue as deep as it is (EWMA)
        const sample = bytes.byteLength * Math.max(1, peer.inFlight) / Math.max(took, 1) * 1000
        peer.rate = peer.rate === 0 ? sample : 0.7 * peer.rate + 0.3 * sample
        this.recent.push([now, bytes.byteLength])
        await this.init.sink.put(cid, bytes)
        peer.failuresInARow = 0
        peer.chunks++
        if (index >= this.dataCount) this.parityFetched++
        this.init.onChunk?.(peer.id, index, bytes.byteLength)
        if (index < this.dataCount) this.readAhead.done(index, bytes)
        this.markDone(index, bytes.byteLength)
        // cancel the endgame duplicates that lost the race
        for (const [other, r] of this.requesters.get(index) ?? []) {
          if (other === key) continue
          r.cancel.abort()
          // a late request that lost to its hedge is the slow peer's failure: one that keeps
          // losing (it announces chunks and serves nothing) is dropped like one that fails
          const slow = r.hedged === true ? this.peers.get(other) : undefined
          if (slow != null && ++slow.failuresInARow >= (this.init.maxPeerFailures ?? DEFAULT_MAX_PEER_FAILURES)) this.ban(other)
        }
        this.settleIfDone()
      })
      .catch((err: Error) => {
        // a download that already failed, or a request we cancelled (an endgame duplicate that
        // lost, a shard a rebuild no longer needs), says nothing about the peer
        if (this.failure != null) return
        // our own store failed (disk full, read-only): the download cannot go on, and no peer is to blame
        if (err.name === 'StoreIOError') {
          this.fail(err)
          return
        }
        const others = [...(this.requesters.get(index)?.keys() ?? [])].some(k => k !== key)
        if (this.state[index] === BlockState.InFlight && !others) {
          this.state[index] = this.counted(index) || this.repairBlocks.has(index) ? BlockState.Missing : BlockState.Unwanted
        }
        if (cancel.signal.aborted) return
        if (err.name === 'BlockRefusedError' && (err as any).code === REFUSAL_CHOKED) {
          // choked: not the chunk's fault nor a failure; wait for its unchoke (or retry later
          // when no session will tell us)
          peer.choked = true
          clearTimeout(peer.chokedTimer)
          peer.chokedTimer = setTimeout(() => { peer.choked = false; this.schedule() }, CHOKED_RETRY_MS)
          peer.chokedTimer.unref()
          return
        }
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
        // gone or lying: never ask it again in this download, and drop what it still owes us
        if (peer.failuresInARow >= maxFailures || peer.badChunks >= maxBad) this.ban(key)
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
