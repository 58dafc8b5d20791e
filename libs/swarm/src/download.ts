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
  perPeerInFlight?: number
  maxInFlight?: number
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
  /** Parity chunks fetched to rebuild them. */
  parityFetched: number
}

interface PeerState {
  id: PeerId
  inFlight: number
  failuresInARow: number
  badChunks: number
  chunks: number
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
  private readonly waiters = new Map<number, Array<{ resolve: () => void, reject: (err: Error) => void }>>()
  private readonly peers = new Map<string, PeerState>()
  /** Who is being asked for each in-flight block; more than one only in endgame. */
  private readonly requesters = new Map<number, Map<string, { cancel: AbortController, startedAt: number }>>()
  private readonly repairs = new Map<number, Repair>()
  /** blocks wanted only for a repair (parity, data outside the range), asked for first */
  private readonly repairBlocks = new Set<number>()
  /** Moving average of a successful chunk fetch (ms), for telling a late request. */
  private fetchMs = 0
  private endgameTimer: NodeJS.Timeout | undefined
  private readonly perPeer: number
  private readonly maxInFlight: number
  private inFlight = 0
  private cursor: number
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
      if (await this.init.sink.has(this.blocks[i])) this.markDone(i, 0)
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

  progress (): DownloadProgress {
    const chunksByPeer: Record<string, number> = {}
    for (const [k, p] of this.peers) chunksByPeer[k] = p.chunks
    return {
      chunksTotal: this.last - this.first + 1,
      chunksDone: this.last - this.first + 1 - this.remaining,
      bytesDone: this.bytesDone,
      peers: this.peers.size,
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
    this.abort.abort(err)
    for (const list of this.waiters.values()) for (const w of list) w.reject(err)
    this.waiters.clear()
    this.rejectFinished(err)
  }

  private counted (index: number): boolean {
    return index >= this.first && index <= this.last
  }

  private markDone (index: number, bytes: number): void {
    if (this.state[index] === BlockState.Done) return
    this.state[index] = BlockState.Done
    this.repairBlocks.delete(index)
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
    this.resolveFinished()
  }

  private mayAsk (index: number, peer: string): boolean {
    return !this.banned.has(peer) && this.excluded[index]?.has(peer) !== true
  }

  /** Some known peer may still be asked for block `index`. */
  private askable (index: number): boolean {
    for (const key of this.peers.keys()) if (this.mayAsk(index, key)) return true
    return false
  }

  /**
   * The next block `peer` may be asked for: repair blocks first (they unblock a chunk nobody
   * else has), then the first missing chunk at or after the cursor (wrapping).
   */
  private nextChunkFor (peer: string): number | undefined {
    for (const i of this.repairBlocks) {
      if (this.state[i] === BlockState.Missing && this.mayAsk(i, peer)) return i
    }
    const span = this.last - this.first + 1
    for (let n = 0; n < span; n++) {
      const i = this.first + ((this.cursor - this.first + n) % span)
      if (this.state[i] === BlockState.Missing && this.mayAsk(i, peer)) return i
    }
    return undefined
  }

  private schedule (): void {
    if (this.failure != null || this.remaining === 0) return
    if (this.init.fec != null) this.planRepairs()
    let progressed = true
    while (progressed && this.inFlight < this.maxInFlight) {
      progressed = false
      // least-loaded peer first spreads requests across every provider
      const candidates = [...this.peers.values()]
        .filter(p => p.inFlight < this.perPeer && !this.banned.has(p.id.toString()))
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
   * Start repairing the group of every wanted chunk no known peer can supply, and keep each
   * repair supplied: once k shards are in, rebuild; while fewer than k are done, in flight or
   * still askable, want one more shard of the group (its data chunks first, then parity).
   */
  private planRepairs (): void {
    const fec = this.init.fec!
    if (this.peers.size > 0) {
      for (let i = this.first; i <= this.last; i++) {
        if (this.state[i] !== BlockState.Missing || this.askable(i)) continue
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
        if (s === BlockState.Done || s === BlockState.InFlight || (s === BlockState.Missing && this.askable(b))) potential++
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
        // the sink lost blocks it had: fetch them again
        r.members.forEach((b, j) => { if (shards[j] == null && this.state[b] === BlockState.Done) this.state[b] = BlockState.Unwanted })
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
      if (this.banned.has(key)) continue
      while (peer.inFlight < this.perPeer) {
        let best: number | undefined
        let oldest = Infinity
        for (const [index, asked] of this.requesters) {
          if (this.state[index] !== BlockState.InFlight || asked.size >= 2 || asked.has(key) || !this.mayAsk(index, key)) continue
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
      const tried = this.excluded[i]?.size ?? 0
      const fec = this.init.fec == null ? '' : '; its FEC group has too few shards left to rebuild it'
      this.fail(new ChunkUnavailableError(`no reachable peer has chunk ${i} (${this.blocks[i]}); tried ${tried} of ${this.peers.size} peers${fec}`))
      return
    }
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
    this.init.fetcher.fetch(peer.id, cid, { signal: AbortSignal.any([this.abort.signal, cancel.signal]) })
      .then(async bytes => {
        if (this.state[index] === BlockState.Done) return
        const took = performance.now() - startedAt
        this.fetchMs = this.fetchMs === 0 ? took : 0.8 * this.fetchMs + 0.2 * took
        await this.init.sink.put(cid, bytes)
        peer.failuresInARow = 0
        peer.chunks++
        if (index >= this.dataCount) this.parityFetched++
        this.init.onChunk?.(peer.id, index, bytes.byteLength)
        this.markDone(index, bytes.byteLength)
        // cancel the endgame duplicates that lost the race
        for (const [other, r] of this.requesters.get(index) ?? []) if (other !== key) r.cancel.abort()
        this.settleIfDone()
      })
      .catch((err: Error) => {
        // a download that already failed, or a request we cancelled (an endgame duplicate that
        // lost, a shard a rebuild no longer needs), says nothing about the peer
        if (this.failure != null) return
        const others = [...(this.requesters.get(index)?.keys() ?? [])].some(k => k !== key)
        if (this.state[index] === BlockState.InFlight && !others) {
          this.state[index] = this.counted(index) || this.repairBlocks.has(index) ? BlockState.Missing : BlockState.Unwanted
        }
        if (cancel.signal.aborted) return
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
        // gone or lying: never ask it again in this download
        if (peer.failuresInARow >= maxFailures || peer.badChunks >= maxBad) this.banned.add(key)
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
