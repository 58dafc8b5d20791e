import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf'
import { MessageSchema, RefusalCode } from '@codio/proto'
import type { LengthPrefixedStream } from '@libp2p/utils'
import { CID } from 'multiformats/cid'
import type { ComponentLogger, Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { HAVE_BATCH_MS, MAX_PEX_PEERS, MAX_SESSION_MESSAGE_BYTES, SWARM_PROTOCOL } from './constants.js'
import { BlockRefusedError, PeerDeniedError, ProtocolError } from './errors.js'
import { messageStream, readMessage } from './wire.js'
import { contentIdProblem } from './verify.js'
import { peerLimits, readLimitReason, StreamCounter, TokenBucket, type PeerLimits, type RefusalReason } from './limits.js'

/** A session closed because the remote passed a limit ({@link PeerLimits}). */
class LimitError extends ProtocolError {
  constructor (message: string, readonly reason: RefusalReason) {
    super(message)
  }
}

/** What a session tells its owner as the remote peer speaks. */
export interface SessionEvents {
  /** The remote now holds these chunks (BEP 3 `have`). */
  onHave?(indexes: number[]): void
  /** The remote choked (`true`) or unchoked (`false`) us. */
  onChoke?(choked: boolean): void
  /** The remote became interested (`true`) or not interested in our chunks. */
  onInterest?(interested: boolean): void
  /**
   * The remote names peers of its own swarm for this content (BEP 11 peer exchange): those it
   * opened sessions with since its last message (`added`) and those whose sessions ended
   * (`dropped`). At most {@link MAX_PEX_PEERS} of each.
   */
  onPeerExchange?(added: PexEntry[], dropped: Uint8Array[]): void
  /** The stream ended, for whatever reason. */
  onClose?(): void
}

/** A peer named in a peer exchange message: binary peer ID and listen multiaddrs. */
export interface PexEntry {
  peerId: Uint8Array
  multiaddrs: Uint8Array[]
}

/**
 * One swarm session: a peer and a content, over one `/codio/swarm/1.0.0` stream. Both sides
 * open with their bitfield (BEP 3: bit i, most significant bit first, = chunk i held), then
 * send `have` as chunks arrive and `choke` / `unchoke` / `interested` / `not interested` as
 * their state changes, and peer exchange (BEP 11) messages naming the other peers of their
 * swarm. A session starts choked and not interested in both directions (BEP 3).
 */
export class SwarmSession {
  /**
   * The remote's chunks at the handshake (BEP 3 layout, see @codio/bitfield); every `have`
   * after it goes to `onHave`, those that arrived before {@link listen} as soon as it is called.
   */
  readonly remoteBitfield: Uint8Array
  /** Whether the remote chokes us. */
  remoteChoking = true
  /** Whether the remote is interested in our chunks. */
  remoteInterested = false
  /** Whether we choke the remote. */
  amChoking = true
  /** Whether we told the remote we are interested in its chunks. */
  amInterested = false
  private events: SessionEvents = {}
  /** `have` indexes that arrived before {@link listen}, in order (bounded by the rate budget) */
  private early: number[] | undefined = []
  private closed = false
  private readonly budget: TokenBucket
  /** `have` indexes gathered for the next message ({@link HAVE_BATCH_MS}) */
  private pendingHaves: number[] = []
  private haveTimer: NodeJS.Timeout | undefined

  constructor (readonly peer: PeerId, readonly contentId: CID, readonly outbound: boolean, remoteBitfield: Uint8Array,
    private readonly stream: Stream, private readonly lp: LengthPrefixedStream<Stream>, private readonly log: Logger,
    limits: Pick<PeerLimits, 'haveRatePerSecond' | 'haveBurst'> = peerLimits(), private readonly onRefused?: (reason: RefusalReason) => void) {
    this.remoteBitfield = remoteBitfield
    this.budget = new TokenBucket(limits.haveRatePerSecond, limits.haveBurst)
  }

  /**
   * Set the callbacks. Choke and interest changes that arrived before this are in the state
   * (`remoteChoking`, `remoteInterested`); `have`s that did (a super-seed reveals at once) are
   * passed to `onHave` now.
   */
  listen (events: SessionEvents): void {
    this.events = events
    const early = this.early
    this.early = undefined
    if (early != null && early.length > 0) events.onHave?.(early)
  }

  get isClosed (): boolean {
    return this.closed
  }

  /**
   * Tell the remote we hold `indexes` (BEP 3 `have`). Indexes are gathered for
   * {@link HAVE_BATCH_MS} into one message; any other message sends them first, so the remote
   * sees our messages in the order we sent them.
   */
  sendHave (indexes: number[]): void {
    if (indexes.length === 0 || this.closed) return
    for (const i of indexes) this.pendingHaves.push(i)
    this.haveTimer ??= setTimeout(() => { this.flushHaves() }, HAVE_BATCH_MS)
  }

  private flushHaves (): void {
    clearTimeout(this.haveTimer)
    this.haveTimer = undefined
    if (this.pendingHaves.length === 0) return
    const indexes = this.pendingHaves
    this.pendingHaves = []
    this.write({ case: 'have', value: { contentId: this.contentId.bytes, indexes } })
  }

  /** Choke (`true`) or unchoke the remote; sends only on a change. */
  setChoking (choke: boolean): void {
    if (choke === this.amChoking) return
    this.amChoking = choke
    this.send(choke ? { case: 'choke', value: {} } : { case: 'unchoke', value: {} })
  }

  /**
   * Name peers of our swarm to the remote (BEP 11): `added` joined, `dropped` left since the
   * previous message.
   *
   * @throws RangeError more than {@link MAX_PEX_PEERS} added or dropped
   */
  sendPeerExchange (added: PexEntry[], dropped: Uint8Array[]): void {
    if (added.length > MAX_PEX_PEERS || dropped.length > MAX_PEX_PEERS) throw new RangeError(`a peer exchange names at most ${MAX_PEX_PEERS} added and ${MAX_PEX_PEERS} dropped peers`)
    if (added.length === 0 && dropped.length === 0) return
    this.send({ case: 'peerExchange', value: { contentId: this.contentId.bytes, added, dropped } })
  }

  /** Tell the remote we are (or are no longer) interested in its chunks; sends only on a change. */
  setInterested (interested: boolean): void {
    if (interested === this.amInterested) return
    this.amInterested = interested
    this.send(interested
      ? { case: 'interested', value: { contentId: this.contentId.bytes } }
      : { case: 'notInterested', value: { contentId: this.contentId.bytes } })
  }

  close (): void {
    if (this.closed) return
    this.flushHaves()
    this.closed = true
    this.stream.close().catch(() => this.stream.abort(new Error('session closed')))
    this.events.onClose?.()
  }

  private send (payload: MessageInitShape<typeof MessageSchema>['payload']): void {
    this.flushHaves()
    this.write(payload)
  }

  private write (payload: MessageInitShape<typeof MessageSchema>['payload']): void {
    if (this.closed) return
    this.lp.write(toBinary(MessageSchema, create(MessageSchema, { payload }))).catch((err: Error) => {
      this.log('session with %p: write failed - %s', this.peer, err.message)
      this.abort(err)
    })
  }

  private abort (err: Error): void {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.haveTimer)
    this.stream.abort(err)
    this.events.onClose?.()
  }

  /** @internal reads the remote's messages until the stream ends */
  async run (): Promise<void> {
    try {
      while (!this.closed) {
        const msg = await readMessage(this.lp)
        const p = msg.payload
        // every state message costs the session's budget, a `have` one token per index: a
        // flood of them (even of chunks it may hold) ends the session, not our CPU
        const cost = p.case === 'have' ? Math.max(1, p.value.indexes.length) : 1
        if (!this.budget.take(cost)) throw new LimitError(`more swarm messages than the session's rate allows (${p.case ?? 'empty'} of ${cost})`, 'have_rate')
        switch (p.case) {
          case 'have': {
            const n = 8 * this.remoteBitfield.length
            const bad = p.value.indexes.find(i => i >= n)
            if (bad !== undefined) throw new LimitError(`have ${bad} beyond the bitfield of ${n} bits`, 'have_range')
            // a `have` between the handshake and listen() (a super-seed reveals at once) waits
            // for listen(), not lost
            if (this.early != null) for (const i of p.value.indexes) this.early.push(i)
            else this.events.onHave?.(p.value.indexes)
            break
          }
          case 'choke': this.remoteChoking = true; this.events.onChoke?.(true); break
          case 'unchoke': this.remoteChoking = false; this.events.onChoke?.(false); break
          case 'interested': this.remoteInterested = true; this.events.onInterest?.(true); break
          case 'notInterested': this.remoteInterested = false; this.events.onInterest?.(false); break
          case 'peerExchange': {
            const { added, dropped } = p.value
            if (added.length > MAX_PEX_PEERS || dropped.length > MAX_PEX_PEERS) throw new ProtocolError(`peer exchange of ${added.length} added and ${dropped.length} dropped peers, at most ${MAX_PEX_PEERS} each`)
            this.events.onPeerExchange?.(added, dropped)
            break
          }
          default: throw new ProtocolError(`unexpected ${p.case ?? 'empty message'} in a swarm session`)
        }
      }
    } catch (err: any) {
      if (!(err instanceof ProtocolError && err.message === 'stream ended')) this.log('session with %p ended - %s', this.peer, err.message)
      const reason = err instanceof LimitError ? err.reason : readLimitReason(err)
      if (reason != null) this.onRefused?.(reason)
      this.abort(err)
    }
  }
}

/** Which chunks of a content this node holds, for the session handshake. */
export interface SessionHost {
  /**
   * Our bitfield for `contentId`, or `undefined` when we hold none of it and are not fetching
   * it (the session is then refused with NOT_FOUND).
   */
  bitfield(contentId: CID): Promise<Uint8Array | undefined>
  /** A remote opened a session with us (its bitfield is on it). */
  onInboundSession(session: SwarmSession): void
}

export interface SwarmSessionsInit {
  host?: SessionHost
  protocol?: string
  maxInboundStreams?: number
  maxOutboundStreams?: number
  /** Handshake time limit (ms). Default 10 000. */
  handshakeTimeout?: number
  /**
   * Peers this node refuses sessions with (a ban list): `open` fails with PeerDeniedError, and
   * their session streams are reset unanswered. Default: nobody.
   */
  denied?(peer: PeerId): boolean
  /**
   * What one peer may cost us: `maxSessions` open at once, `haveRatePerSecond` and
   * `haveBurst` of state messages per session. Unset fields take {@link DEFAULT_PEER_LIMITS}.
   */
  limits?: Partial<PeerLimits>
  /** Called each time a peer is refused for passing a limit (for metrics). */
  onRefused?(peer: PeerId, reason: RefusalReason): void
}

export interface SwarmSessionsComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

/**
 * The swarm-session libp2p service (`/codio/swarm/1.0.0`): opens sessions to peers and
 * accepts theirs. The handshake is a `Bitfield` each way (the opener's first, carrying the
 * content ID); a peer with nothing to say about the content answers a `Refusal` NOT_FOUND.
 */
export class SwarmSessions implements Startable {
  readonly protocol: string
  private readonly log: Logger
  private host?: SessionHost
  private started = false
  private readonly limits: PeerLimits
  private readonly inbound: StreamCounter

  constructor (private readonly components: SwarmSessionsComponents, private readonly init: SwarmSessionsInit) {
    this.protocol = init.protocol ?? SWARM_PROTOCOL
    this.log = components.logger.forComponent('codio:swarm-session')
    this.host = init.host
    this.limits = peerLimits(init.limits)
    this.inbound = new StreamCounter(this.limits.maxSessions)
  }

  private refuser (peer: PeerId): (reason: RefusalReason) => void {
    return reason => {
      this.log('refused %p: %s limit', peer, reason)
      this.init.onRefused?.(peer, reason)
    }
  }

  readonly [Symbol.toStringTag] = '@codio/swarm-sessions'

  /** Set who answers handshakes and receives inbound sessions (before any arrives). */
  setHost (host: SessionHost): void {
    this.host = host
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(this.protocol, (stream, connection) => {
      if (this.init.denied?.(connection.remotePeer) === true) {
        stream.abort(new PeerDeniedError(`peer ${connection.remotePeer} is refused here`))
        return
      }
      const key = connection.remotePeer.toString()
      if (!this.inbound.acquire(key)) {
        this.refuser(connection.remotePeer)('sessions')
        stream.abort(new Error(`more than ${this.limits.maxSessions} swarm sessions from one peer`))
        return
      }
      this.accept(stream, connection).catch(err => {
        const reason = readLimitReason(err)
        if (reason != null) this.refuser(connection.remotePeer)(reason)
        this.log('session from %p failed - %e', connection.remotePeer, err)
        stream.abort(err)
      }).finally(() => { this.inbound.release(key) })
    }, {
      maxInboundStreams: this.init.maxInboundStreams ?? 256,
      maxOutboundStreams: this.init.maxOutboundStreams ?? 256
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

  /**
   * Open a session with `peer` about `contentId`, sending our bitfield.
   *
   * @throws BlockRefusedError the peer holds none of the content (NOT_FOUND)
   * @throws PeerDeniedError the peer is refused here ({@link SwarmSessionsInit.denied})
   * @throws ProtocolError the peer broke the handshake
   */
  async open (peer: PeerId, contentId: CID, bitfield: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<SwarmSession> {
    if (this.init.denied?.(peer) === true) throw new PeerDeniedError(`peer ${peer} is refused here`)
    const timeout = AbortSignal.timeout(this.init.handshakeTimeout ?? 10_000)
    const signal = options.signal == null ? timeout : AbortSignal.any([options.signal, timeout])
    const stream = await this.components.connectionManager.openStream(peer, this.protocol, { signal })
    try {
      const lp = messageStream(stream, { maxDataLength: MAX_SESSION_MESSAGE_BYTES })
      await lp.write(toBinary(MessageSchema, create(MessageSchema, { payload: { case: 'bitfield', value: { contentId: contentId.bytes, bits: bitfield } } })), { signal })
      const reply = (await readMessage(lp, signal)).payload
      if (reply.case === 'refusal') throw new BlockRefusedError(`peer ${peer} has no session for ${contentId}: ${reply.value.reason}`, reply.value.code)
      if (reply.case !== 'bitfield') throw new ProtocolError(`peer ${peer} answered a session with ${reply.case ?? 'nothing'}`)
      if (reply.value.bits.length !== bitfield.length) throw new ProtocolError(`peer ${peer} sent a bitfield of ${reply.value.bits.length} bytes, expected ${bitfield.length}`)
      const session = new SwarmSession(peer, contentId, true, reply.value.bits, stream, lp, this.log, this.limits, this.refuser(peer))
      void session.run()
      return session
    } catch (err: any) {
      stream.abort(err)
      throw err
    }
  }

  private async accept (stream: Stream, connection: Connection): Promise<void> {
    const lp = messageStream(stream, { maxDataLength: MAX_SESSION_MESSAGE_BYTES })
    const signal = AbortSignal.timeout(this.init.handshakeTimeout ?? 10_000)
    const first = (await readMessage(lp, signal)).payload
    const refuse = async (code: RefusalCode, reason: string): Promise<void> => {
      await lp.write(toBinary(MessageSchema, create(MessageSchema, { payload: { case: 'refusal', value: { id: 0n, code, reason } } })))
      await stream.close().catch(() => {})
    }
    if (first.case !== 'bitfield') return await refuse(RefusalCode.BAD_REQUEST, `a session opens with a bitfield, got ${first.case ?? 'nothing'}`)
    let contentId: CID
    try {
      contentId = CID.decode(first.value.contentId)
    } catch {
      return await refuse(RefusalCode.BAD_REQUEST, 'bitfield carries no valid content ID')
    }
    // before the host (and its store) is asked: a 300-byte digest or a foreign codec is refused
    // as the peer's error, never a disk lookup (ENAMETOOLONG reset the stream unanswered)
    const problem = contentIdProblem(contentId)
    if (problem !== undefined) return await refuse(RefusalCode.BAD_REQUEST, `bitfield carries no content ID: ${problem}`)
    const ours = await this.host?.bitfield(contentId)
    if (ours == null) return await refuse(RefusalCode.NOT_FOUND, `no chunk of ${contentId.toString()} here`)
    if (first.value.bits.length !== ours.length) return await refuse(RefusalCode.BAD_REQUEST, `bitfield of ${first.value.bits.length} bytes, expected ${ours.length}`)
    await lp.write(toBinary(MessageSchema, create(MessageSchema, { payload: { case: 'bitfield', value: { contentId: contentId.bytes, bits: ours } } })))
    const session = new SwarmSession(connection.remotePeer, contentId, false, first.value.bits, stream, lp, this.log, this.limits, this.refuser(connection.remotePeer))
    this.host?.onInboundSession(session)
    await session.run()
  }
}


/** Service factory: `services: { sessions: swarmSessions() }`, then `setHost` once the store is open. */
export function swarmSessions (init: SwarmSessionsInit = {}): (components: SwarmSessionsComponents) => SwarmSessions {
  return (components) => new SwarmSessions(components, init)
}
