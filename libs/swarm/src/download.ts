import type { PeerId } from '@libp2p/interface'
import type { Bitfield } from '@codio/bitfield'
import { BlockState, BlockTable } from './blocks.js'
import { DEFAULT_MAX_BAD_CHUNKS, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_PEER_FAILURES, DEFAULT_PER_PEER_IN_FLIGHT, DEFAULT_STALL_TIMEOUT_MS } from './constants.js'
import { PieceDispatcher } from './dispatcher.js'
import type { DownloadInit } from './download-init.js'
import { Endgame, FetchTimes } from './endgame.js'
import { ChunkUnavailableError, DownloadAbortedError } from './errors.js'
import { FecRepairs, parityBlocks } from './fec-repair.js'
import { DownloadPeers, type DownloadPeer } from './peers.js'
import { PiecePicker } from './picker.js'
import { ProgressMeter, type DownloadProgress } from './progress.js'
import { ReadAhead } from './read-ahead.js'
import { StallTimer } from './stall.js'

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
 *
 * This class is the conductor (Dragonfly's, for one task): it owns the download's lifecycle
 * and wires its parts, each in its own file — {@link BlockTable} (where each block stands),
 * {@link DownloadPeers} (per-peer request state, adaptive depth), {@link PieceDispatcher}
 * (requests and their typed results), {@link Endgame} (hedged requests), {@link FecRepairs},
 * {@link StallTimer} and {@link ProgressMeter}.
 */
export class Download {
  readonly first: number
  readonly last: number
  private readonly blocks: BlockTable
  private readonly peers: DownloadPeers
  private readonly picker: PiecePicker
  private readonly meter: ProgressMeter
  private readonly stall: StallTimer
  private readonly dispatcher: PieceDispatcher
  private readonly endgame: Endgame
  private readonly repairs: FecRepairs | undefined
  private readonly readAhead: ReadAhead
  private readonly waiters = new Map<number, Array<{ resolve: () => void, reject: (err: Error) => void }>>()
  private readonly abort = new AbortController()
  private started = false
  private failure: Error | undefined
  private readonly finished: Promise<void>
  private resolveFinished!: () => void
  private rejectFinished!: (err: Error) => void

  constructor (private readonly init: DownloadInit) {
    const first = this.first = init.first ?? 0
    const last = this.last = init.last ?? init.chunks.length - 1
    const chunkSize = init.chunkSize ?? 1024 * 1024
    const schedule = (): void => { this.schedule() }
    const failed = (): boolean => this.failure != null
    const fail = (err: Error): void => { this.fail(err) }
    this.readAhead = new ReadAhead(init.readAhead ?? 0, first)
    const picker = this.picker = new PiecePicker({ pieces: init.chunks.length, strategy: init.strategy ?? 'rarest-first', streamingWindow: init.streamingWindow ?? 8 })
    const peers = this.peers = new DownloadPeers({
      perPeerInFlight: init.perPeerInFlight ?? DEFAULT_PER_PEER_IN_FLIGHT,
      chunkSize,
      maxPeerFailures: init.maxPeerFailures ?? DEFAULT_MAX_PEER_FAILURES,
      maxBadChunks: init.maxBadChunks ?? DEFAULT_MAX_BAD_CHUNKS
    })
    const blocks = this.blocks = new BlockTable({ peers, picker }, { chunks: init.chunks, parity: parityBlocks(init.fec), first, last })
    this.meter = new ProgressMeter({ first, last, chunkSize, size: init.size })
    const stall = this.stall = new StallTimer({ blocks, peers, picker, schedule }, { stallTimeoutMs: init.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS })
    const fetchTimes = new FetchTimes()
    const dispatcher = this.dispatcher = new PieceDispatcher({
      blocks, peers, picker, fetchTimes, fetcher: init.fetcher, sink: init.sink, progress: this.meter, signal: this.abort.signal,
      failed, fail, schedule, stored: (peer, index, bytes) => { this.fetched(peer, index, bytes) }
    }, { maxInFlight: init.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT, chunkSize, throttle: init.throttle?.bind(init) })
    this.endgame = new Endgame({ blocks, peers, dispatcher, fetchTimes, failed, schedule })
    this.repairs = init.fec == null
      ? undefined
      : new FecRepairs({
        blocks, peers, stall, sink: init.sink, failed, fail, schedule,
        rebuilt: (index, bytes) => {
          this.readAhead.done(index, bytes)
          this.markDone(index, bytes.byteLength)
        },
        lost: (index) => { if (blocks.counted(index)) this.meter.remaining++ },
        repaired: (group, chunks, bytes) => { this.repaired(group, chunks, bytes) }
      }, init.fec)
    this.finished = new Promise((resolve, reject) => {
      this.resolveFinished = resolve
      this.rejectFinished = reject
    })
    this.finished.catch(() => {})
    init.signal?.addEventListener('abort', () => this.fail(new DownloadAbortedError('download aborted')), { once: true })
  }

  /**
   * Skip the chunks the sink already holds, then start requesting.
   *
   * @throws whatever the sink's `has` rejects with
   */
  async start (): Promise<void> {
    for (let i = this.first; i <= this.last; i++) {
      if (await this.init.sink.has(this.blocks.cids[i])) this.markDone(i, 0)
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
    const perPeer = opts.perPeerInFlight ?? this.peers.perPeerInFlight
    const maxInFlight = opts.maxInFlight ?? this.dispatcher.maxInFlight
    if (perPeer !== 'adaptive' && (!Number.isInteger(perPeer) || perPeer < 1)) throw new RangeError(`perPeerInFlight must be an integer ≥ 1 or "adaptive", got ${String(perPeer)}`)
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new RangeError(`maxInFlight must be an integer ≥ 1, got ${maxInFlight}`)
    this.picker.configure({ strategy: opts.strategy, streamingWindow: opts.streamingWindow })
    this.peers.perPeerInFlight = perPeer
    this.dispatcher.maxInFlight = maxInFlight
    this.schedule()
  }

  /** Resolves when every wanted chunk is stored; rejects with the first fatal error. */
  get done (): Promise<void> {
    return this.finished
  }

  /**
   * Add a provider (duplicates are ignored) and what it holds: its bitfield from the session
   * handshake, or `'all'` (the default) for a peer known to hold the whole content. A peer that
   * left (session closed, connection lost) may come back this way; a banned one may not.
   */
  addPeer (peer: PeerId, has: Bitfield | 'all' = 'all'): void {
    if (this.failure != null || !this.peers.add(peer)) return
    this.picker.addPeer(peer.toString(), has)
    this.stall.progressed()
    this.schedule()
  }

  /** `peer` now holds data chunk `index` (BEP 3 `have`). */
  have (peer: PeerId, index: number): void {
    const key = peer.toString()
    if (!this.peers.has(key) || index < 0 || index >= this.blocks.dataCount) return
    this.picker.have(key, index)
    this.stall.progressed()
    this.schedule()
  }

  /** `peer` choked (`true`) or unchoked us: a choked peer gets no new requests. */
  setChoked (peer: PeerId, choked: boolean): void {
    if (this.peers.setChoked(peer.toString(), choked) && !choked) this.schedule()
  }

  /**
   * `peer` is gone (disconnected, session closed): its requests in flight are cancelled at once
   * and go to other peers. It is asked again if {@link addPeer} brings it back.
   */
  removePeer (peer: PeerId): void {
    const key = peer.toString()
    if (!this.peers.leave(key)) return
    this.picker.removePeer(key)
    this.blocks.cancelPeer(key, new Error(`peer ${key} is gone`))
    this.schedule()
  }

  /** Say that no more providers will be added: chunks nobody can serve now fail. */
  noMorePeers (): void {
    this.peers.moreMayCome = false
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
    if (this.blocks.state[index] === BlockState.Done) return
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
    return this.meter.chunksDone
  }

  /**
   * Peers banned from this download (peer ID strings): {@link DEFAULT_MAX_BAD_CHUNKS} chunks
   * that failed SHA-256 verification, or too many failures in a row. Never asked again here.
   */
  bannedPeers (): string[] {
    return this.peers.bannedKeys()
  }

  progress (): DownloadProgress {
    return this.meter.snapshot(this.peers)
  }

  /** Stop requesting; waiting readers get `err`. */
  fail (err: Error): void {
    if (this.failure != null || this.meter.remaining === 0) return
    this.failure = err
    this.stopTimers()
    this.abort.abort(err)
    for (const list of this.waiters.values()) for (const w of list) w.reject(err)
    this.waiters.clear()
    this.rejectFinished(err)
  }

  /** The dispatcher stored block `index`, fetched from `peer`. */
  private fetched (peer: DownloadPeer, index: number, bytes: Uint8Array): void {
    const data = index < this.blocks.dataCount
    if (!data) this.meter.parityFetched++
    this.init.onChunk?.(peer.id, index, bytes.byteLength)
    if (data) this.readAhead.done(index, bytes)
    this.markDone(index, bytes.byteLength)
    this.settleIfDone()
  }

  /** FEC repair rebuilt data chunks `chunks` of `group` (`bytes` in all) and stored them. */
  private repaired (group: number, chunks: number[], bytes: number): void {
    this.meter.chunksRebuilt += chunks.length
    if (chunks.length > 0) this.init.onRebuilt?.(group, chunks, bytes)
    this.settleIfDone()
    this.schedule()
  }

  private markDone (index: number, bytes: number): void {
    const { blocks } = this
    if (blocks.state[index] === BlockState.Done) return
    blocks.state[index] = BlockState.Done
    this.stall.progressed()
    blocks.forRepair.delete(index)
    if (index < blocks.dataCount) this.picker.weHave(index)
    if (!blocks.counted(index)) return
    this.meter.held(bytes)
    const list = this.waiters.get(index)
    if (list != null) {
      this.waiters.delete(index)
      for (const w of list) w.resolve()
    }
  }

  private settleIfDone (): void {
    if (this.meter.remaining !== 0 || this.failure != null) return
    this.stopTimers()
    this.resolveFinished()
  }

  private stopTimers (): void {
    this.endgame.stop()
    this.stall.stop()
    this.peers.stop()
  }

  private schedule (): void {
    // nothing is requested before start() knows what the sink already holds
    if (!this.started || this.failure != null || this.meter.remaining === 0) return
    this.repairs?.plan()
    // late requests get the first free slots
    this.endgame.hedge()
    if (!this.dispatcher.fill()) this.endgame.run()
    this.failStranded()
  }

  /**
   * Fail the download when a wanted chunk has no peer left to ask, none can come, nothing is
   * in flight, and its FEC group (if any) cannot be completed either.
   */
  private failStranded (): void {
    const { blocks, peers, repairs } = this
    if (peers.moreMayCome || this.dispatcher.inFlight > 0 || this.failure != null || repairs?.busy() === true) return
    for (let i = this.first; i <= this.last; i++) {
      if (blocks.state[i] !== BlockState.Missing || blocks.askable(i)) continue
      if (repairs != null && peers.size > 0 && repairs.mayRebuild(i)) continue
      if (this.stall.awaitAnnouncement(i, true)) return
      const fec = repairs == null ? '' : '; its FEC group has too few shards left to rebuild it'
      this.fail(new ChunkUnavailableError(`no reachable peer has chunk ${i} (${blocks.cids[i]}); tried ${blocks.excludedCount(i)} of ${peers.size} peers (${peers.goneCount} gone)${fec}`))
      return
    }
  }
}
