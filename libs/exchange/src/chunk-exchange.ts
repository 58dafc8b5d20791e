import { create, toBinary } from '@bufbuild/protobuf'
import { MessageSchema, RefusalCode, type Message } from '@codio/proto'
import { lpStream } from '@libp2p/utils'
import { CID } from 'multiformats/cid'
import type { ComponentLogger, Logger, PeerId, Startable, Stream, Connection } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { CHUNK_PROTOCOL, DEFAULT_MAX_INBOUND_STREAMS, DEFAULT_MAX_OUTBOUND_STREAMS, DEFAULT_REQUEST_TIMEOUT_MS, MAX_MESSAGE_BYTES } from './constants.js'
import { BlockRefusedError, BlockVerificationError, ProtocolError, RequestTimeoutError } from './errors.js'
import { readMessage } from './wire.js'
import { blockMatchesCid } from './verify.js'

/** Where served blocks come from: a block store, looked up by CID. */
export interface BlockSource {
  get(cid: CID): Promise<Uint8Array | undefined>
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
   * waits on it, never the event loop.
   */
  beforeServe?(peer: PeerId, bytes: number): Promise<void>
  /** Called after each block is written to a peer (for metrics). */
  onServed?(peer: PeerId, bytes: number): void
  /** Called when a block fetched from `peer` does not hash to the CID it was asked for. */
  onVerificationFailure?(peer: PeerId, cid: CID): void
}

export interface ChunkExchangeComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
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
  private nextId = 1n
  private started = false
  /** Requests we could not serve because of our own failure (store error, write failure). */
  serveFailures = 0

  constructor (private readonly components: ChunkExchangeComponents, private readonly init: ChunkExchangeInit) {
    this.protocol = init.protocol ?? CHUNK_PROTOCOL
    this.log = components.logger.forComponent('codio:chunk-exchange')
  }

  readonly [Symbol.toStringTag] = '@codio/chunk-exchange'

  async start (): Promise<void> {
    await this.components.registrar.handle(this.protocol, (stream, connection) => {
      this.serve(stream, connection).catch(err => {
        this.serveFailures++
        this.log.error('serving %p failed - %e', connection.remotePeer, err)
        stream.abort(err)
      })
    }, {
      maxInboundStreams: this.init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS,
      maxOutboundStreams: this.init.maxOutboundStreams ?? DEFAULT_MAX_OUTBOUND_STREAMS
    })
    this.started = true
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(this.protocol)
    this.started = false
  }

  isStarted (): boolean {
    return this.started
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

  /**
   * Fetch one block from `peer`, verified against `cid`.
   *
   * @throws BlockRefusedError the peer refused (its `code` says why)
   * @throws BlockVerificationError the bytes do not hash to `cid`
   * @throws RequestTimeoutError no answer within the request timeout
   * @throws ProtocolError the peer broke the protocol
   */
  async fetch (peer: PeerId, cid: CID, options: FetchOptions = {}): Promise<Uint8Array> {
    const timeout = AbortSignal.timeout(this.init.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS)
    const signal = options.signal == null ? timeout : AbortSignal.any([options.signal, timeout])
    const stats = this.statsFor(peer)
    let stream: Stream | undefined
    try {
      stream = await this.components.connectionManager.openStream(peer, this.protocol, { signal })
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
      const id = this.nextId++
      await lp.write(toBinary(MessageSchema, create(MessageSchema, {
        payload: { case: 'request', value: { id, cid: cid.bytes } }
      })), { signal })
      const reply = await readMessage(lp, signal)
      await stream.close({ signal }).catch(() => {})
      const { payload } = reply
      if (payload.case === 'refusal') {
        throw new BlockRefusedError(`peer ${peer} refused ${cid}: ${payload.value.reason}`, payload.value.code)
      }
      if (payload.case !== 'piece' || payload.value.id !== id) {
        throw new ProtocolError(`peer ${peer} answered request ${id} with ${payload.case ?? 'nothing'}`)
      }
      const data = payload.value.data
      if (!(await blockMatchesCid(cid, data))) {
        stats.verificationFailures++
        this.init.onVerificationFailure?.(peer, cid)
        throw new BlockVerificationError(`block from ${peer} does not match ${cid}`)
      }
      stats.chunksReceived++
      stats.bytesReceived += data.byteLength
      return data
    } catch (err: any) {
      // a request its caller cancelled (an endgame duplicate) is not the peer's failure
      if (options.signal?.aborted !== true) stats.failures++
      stream?.abort(err)
      if (timeout.aborted && options.signal?.aborted !== true) {
        throw new RequestTimeoutError(`request for ${cid} to ${peer} timed out`, { cause: err })
      }
      throw err
    }
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
    const stats = this.statsFor(peer)
    // a peer may pipeline several requests on one stream; answer them in order until it closes
    while (true) {
      let msg: Message
      try {
        msg = await readMessage(lp)
      } catch (err) {
        if (err instanceof ProtocolError && err.message === 'stream ended') break
        throw err
      }
      const { payload } = msg
      if (payload.case === 'cancel') continue
      if (payload.case !== 'request') {
        await lp.write(refusal(0n, RefusalCode.BAD_REQUEST, `expected a request, got ${payload.case ?? 'an empty message'}`))
        continue
      }
      const { id } = payload.value
      let cid: CID
      try {
        cid = CID.decode(payload.value.cid)
      } catch {
        await lp.write(refusal(id, RefusalCode.BAD_REQUEST, 'request carries no valid CID'))
        continue
      }
      const refused = this.init.admit?.(peer, cid)
      if (refused != null) {
        await lp.write(refusal(id, refused, 'not admitted'))
        continue
      }
      let data: Uint8Array | undefined
      try {
        data = await this.init.blocks.get(cid)
      } catch (err: any) {
        this.log.error('reading %s failed - %e', cid, err)
        this.serveFailures++
        await lp.write(refusal(id, RefusalCode.INTERNAL, 'block store error'))
        continue
      }
      if (data == null) {
        await lp.write(refusal(id, RefusalCode.NOT_FOUND, `no block ${cid.toString()}`))
        continue
      }
      await this.init.beforeServe?.(peer, data.byteLength)
      await lp.write(toBinary(MessageSchema, create(MessageSchema, {
        payload: { case: 'piece', value: { id, cid: cid.bytes, data } }
      })))
      stats.chunksSent++
      stats.bytesSent += data.byteLength
      this.init.onServed?.(peer, data.byteLength)
    }
    await stream.close().catch(() => {})
  }
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
