import { create, toBinary } from '@bufbuild/protobuf'
import { MessageSchema, RefusalCode, type Message } from '@codio/proto'
import { CID } from 'multiformats/cid'
import type { ComponentLogger, Logger, PeerId, PrivateKey, Startable } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { CHUNK_PROTOCOL, DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_OUTBOUND_STREAMS, DEFAULT_REQUEST_TIMEOUT_MS, BLOCK_STREAM_OPTIONS, SERVE_READ_AHEAD } from './constants.js'
import { peerLimits, readLimitReason, StreamCounter, type PeerLimits, type RefusalReason } from './limits.js'
import { BlockRefusedError, BlockVerificationError, InvalidBlockIdError, PeerDeniedError, ProtocolError, RequestTimeoutError } from './errors.js'
import { encodePiece } from './wire.js'
import { streamConn, type MessageConn } from './message-conn.js'
import { socketConn } from './socket-conn.js'
import { BulkChannel, type BulkChannelComponents, type BulkChannelInit } from './bulk-channel.js'
import { raceSignal } from './race-signal.js'
import { blockIdProblem, blockMatchesCid } from './verify.js'
import { injectTrace, type TraceCarrier } from '@codio/tracing'
import { serveSpan, type ServeSpan } from './serve-span.js'

/** Where served blocks come from: a block store, looked up by CID. */
export interface BlockSource {
  get(cid: CID): Promise<Uint8Array | undefined>
  /** Whether the block is held, without reading it (answers want-have requests). Default: `get`. */
  has?(cid: CID): Promise<boolean>
}

export interface ChunkExchangeInit {
  /** Blocks this node serves. Required. */
  blocks: BlockSource
  /** Protocol id. Default `/codio/chunk/1.0.0`. */
  protocol?: string
  /** Time limit of one outbound request in ms. Default 30 000. */
  requestTimeout?: number
  maxInboundStreams?: number
  maxOutboundStreams?: number
  /**
   * Called before a block is served; return a refusal code to refuse (for example
   * `RefusalCode.CHOKED` from a choker). Default: serve everyone.
   */
  admit?(peer: PeerId, cid: CID): RefusalCode | undefined
  /**
   * Awaited before a block of `bytes` is written to `peer` (an upload rate limit). Serving
   * waits on it, never the event loop. `signal` aborts when the peer cancels the request (or
   * leaves) while it waits.
   */
  beforeServe?(peer: PeerId, bytes: number, signal?: AbortSignal): Promise<void>
  /** Called after each block is written to a peer (for metrics). */
  onServed?(peer: PeerId, bytes: number): void
  /** Called when a block fetched from `peer` does not hash to the CID it was asked for. */
  onVerificationFailure?(peer: PeerId, cid: CID): void
  /**
   * Called when a fetch from `peer` fails for a reason the peer is counted for (its stats'
   * `failures`): `timeout`, `refused` (a refusal other than BAD_REQUEST), `verification`, or
   * the error's name (a reset stream, a dial that failed: a provider gone). Not for requests
   * the caller cancelled.
   */
  onFetchFailure?(peer: PeerId, reason: string): void
  /**
   * Peers this node refuses to exchange with (a ban list), asked at every request and every
   * inbound stream: requests to them fail with PeerDeniedError before any stream opens, and
   * their streams are reset before a message is read. Default: nobody.
   */
  denied?(peer: PeerId): boolean
  /**
   * What one peer may cost us (streams open, requests queued, message and buffer bytes);
   * unset fields take {@link DEFAULT_PEER_LIMITS}. Checked at construction (RangeError).
   */
  limits?: Partial<PeerLimits>
  /** Called each time a peer is refused for passing a limit (for metrics). */
  onRefused?(peer: PeerId, reason: RefusalReason): void
  /**
   * Serve and fetch blocks on the bulk channel ({@link BulkChannel}: a direct TLS 1.3
   * connection per peer, both ends' certificates bound to their peer IDs) where the peer has
   * one, else on libp2p streams. Unset: libp2p streams only, and no bulk channel listens.
   */
  bulk?: BulkChannelInit
}

export interface ChunkExchangeComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  /** Needed for {@link ChunkExchangeInit.bulk} (the bulk channel's certificate). */
  privateKey?: PrivateKey
}

/** Bytes and blocks moved with one peer, in both directions. */
export interface PeerTransferStats {
  chunksReceived: number
  bytesReceived: number
  chunksSent: number
  bytesSent: number
  failures: number
  verificationFailures: number
}

export interface FetchOptions {
  signal?: AbortSignal
}

interface Pending {
  resolve: (reply: Message) => void
  reject: (err: Error) => void
}

/**
 * The one request stream we keep to a peer (a libp2p stream or a bulk channel connection):
 * requests are pipelined on it (BEP 3 style: many outstanding, answered in order) and replies
 * matched by id. A stream per request would cost a multistream-select negotiation, a yamux
 * open/close and two peer-store writes (libp2p records the protocol on every new stream) per
 * chunk.
 */
class RequestChannel {
  private readonly pending = new Map<bigint, Pending>()
  private ended = false

  constructor (private readonly conn: MessageConn, private readonly onEnd: () => void) {
    void this.readReplies()
  }

  get isEnded (): boolean {
    return this.ended
  }

  /** Send a request and wait for its reply; aborting `signal` cancels it (the peer is told). */
  async request (id: bigint, cid: CID, signal: AbortSignal, wantHave = false, trace?: TraceCarrier): Promise<Message> {
    if (this.ended) throw new ProtocolError('stream ended')
    signal.throwIfAborted()
    let onAbort: (() => void) | undefined
    const reply = new Promise<Message>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      onAbort = () => {
        if (!this.pending.delete(id)) return
        reject(signal.reason)
        this.write(create(MessageSchema, { payload: { case: 'cancel', value: { id } } }))
      }
      signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      this.write(create(MessageSchema, { payload: { case: 'request', value: { id, cid: cid.bytes, wantHave, ...trace } } }))
      return await reply
    } finally {
      signal.removeEventListener('abort', onAbort!)
    }
  }

  close (err?: Error): void {
    if (this.ended) return
    this.end(err ?? new ProtocolError('stream ended'))
    if (err == null) this.conn.close().catch(() => {})
    else this.conn.abort(err)
  }

  private write (msg: Message): void {
    // the whole message goes to the stream at once; only the next write waits for drain
    this.conn.write(toBinary(MessageSchema, msg)).catch((err: Error) => { this.close(err) })
  }

  private async readReplies (): Promise<void> {
    try {
      while (!this.ended) {
        const reply = await this.conn.read()
        const { payload } = reply
        const id = payload.case === 'piece' || payload.case === 'refusal' || payload.case === 'presence' ? payload.value.id : undefined
        if (id === undefined) throw new ProtocolError(`unexpected ${payload.case ?? 'empty message'} on a request stream`)
        // a reply to a request we cancelled (an endgame duplicate, a timeout) is dropped
        const p = this.pending.get(id)
        if (p == null) continue
        this.pending.delete(id)
        p.resolve(reply)
      }
    } catch (err: any) {
      this.close(err)
    }
  }

  private end (err: Error): void {
    this.ended = true
    this.onEnd()
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
  }
}

/**
 * A request queued on a served stream: `block` its CID parsed once (or why it is none), `read`
 * its store read started early, `null` not started (it was not admitted then).
 */
interface QueuedRequest {
  id: bigint
  cid: Uint8Array
  block: CID | string
  traceparent: string
  tracestate: string
  read?: Promise<Uint8Array | undefined> | null
}

function emptyStats (): PeerTransferStats {
  return { chunksReceived: 0, bytesReceived: 0, chunksSent: 0, bytesSent: 0, failures: 0, verificationFailures: 0 }
}

/**
 * Block exchange over libp2p streams: request a block by CID, get its bytes or a typed
 * refusal. Messages are varint-length-prefixed `codio.exchange.v1.Message` protobufs
 * (vocabulary of BEP 3: request / piece / refusal). Every block fetched is verified against
 * its CID before it is returned.
 */
export class ChunkExchange implements Startable {
  readonly protocol: string
  private readonly log: Logger
  private readonly stats = new Map<string, PeerTransferStats>()
  /** the request stream to each peer (or the pending open of one) */
  private readonly channels = new Map<string, Promise<RequestChannel>>()
  private nextId = 1n
  private started = false
  private readonly limits: PeerLimits
  private readonly streamOptions: { maxDataLength: number, maxBufferSize: number }
  private readonly inboundStreams: StreamCounter
  /** requests each peer has queued with us, across its streams */
  private readonly queued = new Map<string, number>()
  /** Requests we could not serve because of our own failure (store error, write failure). */
  serveFailures = 0
  private readonly bulk?: BulkChannel

  constructor (private readonly components: ChunkExchangeComponents, private readonly init: ChunkExchangeInit) {
    this.protocol = init.protocol ?? CHUNK_PROTOCOL
    this.log = components.logger.forComponent('codio:chunk-exchange')
    this.limits = peerLimits(init.limits)
    this.streamOptions = { maxDataLength: this.limits.maxMessageBytes, maxBufferSize: this.limits.maxBufferedBytes }
    this.inboundStreams = new StreamCounter(this.limits.maxStreams)
    if (init.bulk != null) {
      // libp2p's components are a proxy: passed on whole, not spread
      this.bulk = new BulkChannel(components as BulkChannelComponents, init.bulk, (socket, peer) => { this.accept(socketConn(socket, this.streamOptions), peer) })
    }
  }

  /** The port of the bulk channel, when it listens ({@link ChunkExchangeInit.bulk}). */
  get bulkPort (): number | undefined {
    return this.bulk?.port
  }

  private refused (peer: PeerId, reason: RefusalReason): void {
    this.log('refused %p: %s limit', peer, reason)
    this.init.onRefused?.(peer, reason)
  }

  private addQueued (peer: string, n: number): void {
    const v = (this.queued.get(peer) ?? 0) + n
    if (v <= 0) this.queued.delete(peer)
    else this.queued.set(peer, v)
  }

  readonly [Symbol.toStringTag] = '@codio/chunk-exchange'

  async start (): Promise<void> {
    await this.components.registrar.handle(this.protocol, (stream, connection) => {
      this.accept(streamConn(stream, this.streamOptions), connection.remotePeer)
    }, {
      maxInboundStreams: this.init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS,
      maxOutboundStreams: this.init.maxOutboundStreams ?? DEFAULT_MAX_OUTBOUND_STREAMS
    })
    await this.bulk?.start()
    this.started = true
  }

  /** Serve an inbound block stream from `peer`, unless the peer is denied or holds its limit of streams. */
  private accept (conn: MessageConn, peer: PeerId): void {
    if (this.init.denied?.(peer) === true) {
      conn.abort(new PeerDeniedError(`peer ${peer} is refused here`))
      return
    }
    const key = peer.toString()
    if (!this.inboundStreams.acquire(key)) {
      this.refused(peer, 'streams')
      conn.abort(new Error(`more than ${this.limits.maxStreams} block streams from one peer`))
      return
    }
    this.serve(conn, peer).catch(err => {
      const reason = readLimitReason(err)
      if (reason != null) this.refused(peer, reason)
      else {
        this.serveFailures++
        this.log.error('serving %p failed - %e', peer, err)
      }
      conn.abort(err)
    }).finally(() => { this.inboundStreams.release(key) })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(this.protocol)
    await this.bulk?.stop()
    for (const c of this.channels.values()) c.then(ch => { ch.close() }, () => {})
    this.channels.clear()
    this.started = false
  }

  /** The request stream to `peer`, opened on first use and again after it ends. */
  private async channel (peer: PeerId): Promise<RequestChannel> {
    if (this.init.denied?.(peer) === true) throw new PeerDeniedError(`peer ${peer} is refused here`)
    const key = peer.toString()
    let opening = this.channels.get(key)
    if (opening == null) {
      const forget = (): void => { if (this.channels.get(key) === opening) this.channels.delete(key) }
      opening = (async () => {
        // not the caller's signal: other requests share this open
        const signal = AbortSignal.timeout(this.init.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS)
        const socket = await this.bulk?.dial(peer, signal)
        if (socket != null) return new RequestChannel(socketConn(socket, BLOCK_STREAM_OPTIONS), forget)
        const stream = await this.components.connectionManager.openStream(peer, this.protocol, { signal })
        return new RequestChannel(streamConn(stream, BLOCK_STREAM_OPTIONS), forget)
      })()
      this.channels.set(key, opening)
      // a failed open is not cached: the next request dials again
      opening.catch(forget)
    }
    const channel = await opening
    // it ended (and forgot itself) while this caller waited for it
    return channel.isEnded ? await this.channel(peer) : channel
  }

  isStarted (): boolean {
    return this.started
  }

  /**
   * End the request stream to `peer`, if any: its requests in flight fail (ProtocolError). For
   * a peer just denied, whose connection may outlive the call by a moment.
   */
  closePeer (peer: PeerId): void {
    const opening = this.channels.get(peer.toString())
    this.channels.delete(peer.toString())
    opening?.then(ch => { ch.close(new PeerDeniedError(`peer ${peer} is refused here`)) }, () => {})
  }

  /** Per-peer transfer counters, keyed by peer ID string. */
  peerStats (): Map<string, PeerTransferStats> {
    return new Map([...this.stats].map(([k, v]) => [k, { ...v }]))
  }

  private statsFor (peer: PeerId): PeerTransferStats {
    const key = peer.toString()
    let s = this.stats.get(key)
    if (s == null) {
      s = emptyStats()
      this.stats.set(key, s)
    }
    return s
  }

  /** The caller's signal bounded by the request timeout, and whether the timeout (not the caller) ended it. */
  private requestSignal (options: FetchOptions): { signal: AbortSignal, timedOut: () => boolean } {
    const timeout = AbortSignal.timeout(this.init.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS)
    return {
      signal: options.signal == null ? timeout : AbortSignal.any([options.signal, timeout]),
      timedOut: () => timeout.aborted && options.signal?.aborted !== true
    }
  }

  /** The answer to a want-have: a presence, or a refusal for a bad CID or a store failure. */
  private async presence (id: bigint, cidBytes: Uint8Array): Promise<Uint8Array> {
    const cid = parseBlockId(cidBytes)
    if (typeof cid === 'string') return refusal(id, RefusalCode.BAD_REQUEST, cid)
    try {
      const { blocks } = this.init
      return presence(id, blocks.has != null ? await blocks.has(cid) : (await blocks.get(cid)) != null)
    } catch (err: any) {
      if (isInvalidArgument(err)) return refusal(id, RefusalCode.BAD_REQUEST, err.message)
      this.log.error('checking %s failed - %e', cid, err)
      this.serveFailures++
      return refusal(id, RefusalCode.INTERNAL, 'block store error')
    }
  }

  /**
   * Fetch one block from `peer`, verified against `cid`.
   *
   * @throws BlockRefusedError the peer refused (its `code` says why)
   * @throws PeerDeniedError the peer is refused here ({@link ChunkExchangeInit.denied})
   * @throws BlockVerificationError the bytes do not hash to `cid`
   * @throws RequestTimeoutError no answer within the request timeout
   * @throws ProtocolError the peer broke the protocol
   * @throws InvalidBlockIdError `cid` is no block ID of this protocol (nothing is sent)
   */
  async fetch (peer: PeerId, cid: CID, options: FetchOptions = {}): Promise<Uint8Array> {
    checkBlockId(cid)
    const { signal, timedOut } = this.requestSignal(options)
    const stats = this.statsFor(peer)
    try {
      const id = this.nextId++
      // the caller's span (a manifest fetch, a download) becomes the parent of the serving span
      const reply = await (await raceSignal(this.channel(peer), signal)).request(id, cid, signal, false, injectTrace())
      const { payload } = reply
      if (payload.case === 'refusal') {
        throw new BlockRefusedError(`peer ${peer} refused ${cid}: ${payload.value.reason}`, payload.value.code)
      }
      if (payload.case !== 'piece' || payload.value.id !== id) {
        throw new ProtocolError(`peer ${peer} answered request ${id} with ${payload.case ?? 'nothing'}`)
      }
      const data = payload.value.data
      if (!(await blockMatchesCid(cid, data))) {
        // the caller gave up on it while it was checked (it banned the peer for the bad
        // chunks before this one): not a new offence
        options.signal?.throwIfAborted()
        stats.verificationFailures++
        this.init.onVerificationFailure?.(peer, cid)
        throw new BlockVerificationError(`block from ${peer} does not match ${cid}`)
      }
      stats.chunksReceived++
      stats.bytesReceived += data.byteLength
      return data
    } catch (err: any) {
      // a request its caller cancelled (an endgame duplicate) is not the peer's failure, nor
      // one it refused as malformed (our request was at fault)
      if (options.signal?.aborted !== true && !(err instanceof BlockRefusedError && err.code === RefusalCode.BAD_REQUEST)) {
        stats.failures++
        this.init.onFetchFailure?.(peer, timedOut() ? 'timeout' : err instanceof BlockRefusedError ? 'refused' : err instanceof BlockVerificationError ? 'verification' : String(err?.name ?? 'Error'))
      }
      if (timedOut()) throw new RequestTimeoutError(`request for ${cid} to ${peer} timed out`, { cause: err })
      throw err
    }
  }

  /**
   * Ask `peer` whether it holds `cid` now, without fetching it (Bitswap's WANT_HAVE; the
   * peer answers at once, ahead of the pieces it is sending us, and never chokes the answer).
   *
   * @throws RequestTimeoutError no answer within the request timeout
   * @throws ProtocolError the peer broke the protocol (or does not speak it)
   * @throws PeerDeniedError the peer is refused here
   * @throws InvalidBlockIdError `cid` is no block ID of this protocol (nothing is sent)
   */
  async has (peer: PeerId, cid: CID, options: FetchOptions = {}): Promise<boolean> {
    checkBlockId(cid)
    const { signal, timedOut } = this.requestSignal(options)
    try {
      const { payload } = await (await raceSignal(this.channel(peer), signal)).request(this.nextId++, cid, signal, true)
      if (payload.case === 'presence') return payload.value.have
      if (payload.case === 'refusal') throw new BlockRefusedError(`peer ${peer} refused a want-have for ${cid}: ${payload.value.reason}`, payload.value.code)
      throw new ProtocolError(`peer ${peer} answered a want-have with ${payload.case ?? 'nothing'}`)
    } catch (err: any) {
      if (timedOut()) throw new RequestTimeoutError(`want-have for ${cid} to ${peer} timed out`, { cause: err })
      throw err
    }
  }

  /**
   * Answer the requests a peer pipelines on one stream, in order, until it closes. Requests
   * are read ahead as they arrive, so a `cancel` removes a queued request (or stops one waiting
   * for upload bandwidth) before its bytes are sent.
   */
  private async serve (conn: MessageConn, peer: PeerId): Promise<void> {
    const key = peer.toString()
    const stats = this.statsFor(peer)
    const queue: QueuedRequest[] = []
    let current: { id: bigint, cancel: AbortController } | undefined
    let ended = false
    /** the serving loop is over: requests still read are not queued (nor counted) */
    let stopped = false
    let readError: Error | undefined
    let wake: (() => void) | undefined
    /** The span of the request being served, when it carries a traceparent; ended as the next one starts. */
    let span: ServeSpan | undefined
    const refuse = (id: bigint, code: RefusalCode, reason: string): Uint8Array => {
      span?.refused(RefusalCode[code])
      return refusal(id, code, reason)
    }
    // the store reads of the requests next in line run while the one before them is sent: one
    // read after another, each waiting for the last send, held a peer's stream to about one
    // chunk per read-plus-send (a cold edge fetching from one origin at ~200 MB/s)
    const readAhead = (): void => {
      for (let i = 0; i < queue.length && i < SERVE_READ_AHEAD; i++) {
        const q = queue[i]
        if (q.read !== undefined) continue
        // not for a request that will be refused (admission is asked again when it is served)
        if (typeof q.block === 'string' || this.init.admit?.(peer, q.block) != null) {
          q.read = null
          continue
        }
        const read = this.init.blocks.get(q.block)
        // a failure is reported when the request is served, or dropped with a cancelled one
        read.catch(() => {})
        q.read = read
      }
    }
    const reading = (async () => {
      try {
        while (true) {
          const msg = await conn.read()
          const { payload } = msg
          if (payload.case === 'cancel') {
            const at = queue.findIndex(r => r.id === payload.value.id)
            if (at >= 0) {
              queue.splice(at, 1)
              this.addQueued(key, -1)
            } else if (current?.id === payload.value.id) current.cancel.abort(new Error('cancelled by the peer'))
            continue
          }
          if (payload.case !== 'request') {
            await conn.write(refusal(0n, RefusalCode.BAD_REQUEST, `expected a request, got ${payload.case ?? 'an empty message'}`))
            continue
          }
          if (payload.value.wantHave) {
            // answered here, ahead of the queue: a presence costs no upload bandwidth
            await conn.write(await this.presence(payload.value.id, payload.value.cid))
            continue
          }
          if (stopped) continue
          if ((this.queued.get(key) ?? 0) >= this.limits.maxRequestsInFlight) {
            this.refused(peer, 'requests')
            await conn.write(refusal(payload.value.id, RefusalCode.OVERLOADED, `more than ${this.limits.maxRequestsInFlight} requests queued`))
            continue
          }
          const { id, cid, traceparent, tracestate } = payload.value
          queue.push({ id, cid, block: parseBlockId(cid), traceparent, tracestate })
          this.addQueued(key, 1)
          if (queue.length <= SERVE_READ_AHEAD) readAhead()
          wake?.()
        }
      } catch (err: any) {
        if (!(err instanceof ProtocolError && err.message === 'stream ended')) readError = err
      } finally {
        ended = true
        current?.cancel.abort(new Error('stream ended'))
        wake?.()
      }
    })()
    try {
      while (true) {
        span?.end()
        span = undefined
        // a reset stream takes nothing more: what it left queued is dropped, not served to nobody
        if (conn.broken) break
        const req = queue.shift()
        if (req != null) this.addQueued(key, -1)
        if (req == null) {
          if (ended) break
          await new Promise<void>(resolve => { wake = resolve })
          wake = undefined
          continue
        }
        readAhead()
        const { id } = req
        span = serveSpan(req, peer)
        const cid = req.block
        if (typeof cid === 'string') {
          // malformed: refused before the store is asked, and not our failure
          await conn.write(refuse(id, RefusalCode.BAD_REQUEST, cid))
          continue
        }
        if (this.init.denied?.(peer) === true) {
          // denied while its stream was open: nothing more leaves for it
          conn.abort(new PeerDeniedError(`peer ${peer} is refused here`))
          return
        }
        const refused = this.init.admit?.(peer, cid)
        if (refused != null) {
          await conn.write(refuse(id, refused, 'not admitted'))
          continue
        }
        let data: Uint8Array | undefined
        try {
          data = await (req.read ?? this.init.blocks.get(cid))
        } catch (err: any) {
          if (isInvalidArgument(err)) {
            await conn.write(refuse(id, RefusalCode.BAD_REQUEST, err.message))
            continue
          }
          this.log.error('reading %s failed - %e', cid, err)
          this.serveFailures++
          await conn.write(refuse(id, RefusalCode.INTERNAL, 'block store error'))
          continue
        }
        if (data == null) {
          await conn.write(refuse(id, RefusalCode.NOT_FOUND, `no block ${cid.toString()}`))
          continue
        }
        current = { id, cancel: new AbortController() }
        try {
          await this.init.beforeServe?.(peer, data.byteLength, current.cancel.signal)
        } catch (err) {
          // cancelled while it waited for upload bandwidth: nothing was sent, nothing is owed
          if (current.cancel.signal.aborted) continue
          throw err
        } finally {
          current = undefined
        }
        await conn.send(encodePiece(id, cid.bytes, data))
        stats.chunksSent++
        stats.bytesSent += data.byteLength
        this.init.onServed?.(peer, data.byteLength)
        span?.served(data.byteLength)
      }
    } catch (err) {
      span?.failed(err)
      throw err
    } finally {
      span?.end()
      // what the peer left queued no longer counts against it
      stopped = true
      this.addQueued(key, -queue.length)
      queue.length = 0
    }
    await reading
    if (readError != null) throw readError
    await conn.close().catch(() => {})
  }
}

/** The block ID in a request, or why it is none (the refusal's reason). */
function parseBlockId (bytes: Uint8Array): CID | string {
  let cid: CID
  try {
    cid = CID.decode(bytes)
  } catch {
    return 'request carries no valid CID'
  }
  const problem = blockIdProblem(cid)
  return problem == null ? cid : `invalid block id: ${problem}`
}

function checkBlockId (cid: CID): void {
  const problem = blockIdProblem(cid)
  if (problem != null) throw new InvalidBlockIdError(`${cid.toString().slice(0, 64)} is no block id: ${problem}`)
}

/** A block source's refusal of the ID itself (the store's InvalidBlockIdError), not an I/O failure. */
function isInvalidArgument (err: unknown): err is Error {
  return (err as Error | undefined)?.name === 'InvalidBlockIdError'
}

function presence (id: bigint, have: boolean): Uint8Array {
  return toBinary(MessageSchema, create(MessageSchema, { payload: { case: 'presence', value: { id, have } } }))
}

function refusal (id: bigint, code: RefusalCode, reason: string): Uint8Array {
  return toBinary(MessageSchema, create(MessageSchema, { payload: { case: 'refusal', value: { id, code, reason } } }))
}


/**
 * A libp2p service factory: pass it in `createLibp2p({ services: { exchange: chunkExchange({ blocks }) } })`.
 */
export function chunkExchange (init: ChunkExchangeInit): (components: ChunkExchangeComponents) => ChunkExchange {
  return (components) => new ChunkExchange(components, init)
}
