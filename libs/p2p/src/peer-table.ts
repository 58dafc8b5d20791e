import { peerIdFromString } from '@libp2p/peer-id'
import type {
  ComponentLogger, Connection, IdentifyResult, Libp2pEvents, Logger, PeerId, PeerInfo, PeerStore, Startable,
  TypedEventTarget
} from '@libp2p/interface'
import { CODE_P2P, type Multiaddr } from '@multiformats/multiaddr'
import { AddressDialer } from './address-dialer.js'
import { DEFAULT_PEER_TABLE_SIZE, KEEP_ALIVE_TAG, KEEP_ALIVE_TAG_VALUE, RECONNECT_DIAL_TIMEOUT_MS } from './constants.js'
import { InvalidOptionError, InvalidPeerIdError } from './errors.js'
import { ConnectionLimiter, type ConnectionLimitStats, type LimitedConnections, type MiddlewareRegistrar } from './connection-limit.js'
import { Reconnector, type Dialer, type ReconnectInit } from './reconnector.js'

/** What the node knows about one remote peer. A snapshot: later events do not change it. */
export interface PeerRecord {
  /** Base58/base32 string form of the peer ID. */
  peerId: string
  /** Known multiaddrs (identify listen addrs, discovery, and remote addrs of connections), no `/p2p/` suffix. */
  addresses: string[]
  /** Protocols the peer announced in identify (empty until identify ran). */
  protocols: string[]
  /** Since when the peer has had at least one open connection, ms since the epoch; undefined when not connected. */
  connectedSince?: number
  /** When the peer's last connection closed, ms since the epoch; undefined if it never disconnected. */
  disconnectedAt?: number
  /**
   * Last sign of life, ms since the epoch: connection open or close, identify, or now while a
   * connection is open (the connection monitor pings open connections and aborts dead ones).
   * Undefined for a peer only heard of through discovery.
   */
  lastSeen?: number
  /** Connections open to the peer now. */
  connections: number
  /** Connections ever opened to or from the peer. */
  connectionsOpened: number
  /** Reconnection dials made to the peer (kept-alive peers only), over the table's lifetime. */
  reconnectAttempts: number
  /** Whether the node keeps the peer connected (bootstrap peer or {@link keepAlive}). */
  keepAlive: boolean
}

interface Entry {
  peerId: PeerId
  addresses: Set<string>
  protocols: string[]
  openConnections: Set<string>
  connectedSince?: number
  disconnectedAt?: number
  lastSeen?: number
  connectionsOpened: number
  reconnectAttempts: number
}

export interface PeerTableInit {
  /**
   * Bootstrap peers: kept alive for the node's lifetime. An address without `/p2p/<peer id>` is
   * kept by its address: dialled until it answers and again whenever the peer behind it drops
   * (see {@link AddressDialer}).
   */
  bootstrap?: Multiaddr[]
  /** Reconnection backoff for kept-alive peers. */
  reconnect?: ReconnectInit
  /** Most entries kept; least recently seen disconnected, non-kept-alive peers are dropped first. Default 4096. */
  maxEntries?: number
  /**
   * Open connections the node prunes down to (integer ≥ 1), least valuable first (see
   * {@link ConnectionLimiter}). Default: the connection manager's `maxConnections`.
   */
  maxConnections?: number
}

export interface PeerTableComponents {
  peerId: PeerId
  events: TypedEventTarget<Libp2pEvents>
  connectionManager: Dialer & LimitedConnections & { getMaxConnections(): number }
  peerStore: PeerStore
  registrar: MiddlewareRegistrar
  logger: ComponentLogger
}

/** Reason string under which bootstrap peers are kept alive. */
export const BOOTSTRAP_REASON = 'bootstrap'

function addrKey (ma: Multiaddr): string {
  return ma.toString().replace(/\/p2p\/[^/]+$/, '')
}

/**
 * Per-peer connection bookkeeping, driven by libp2p events (`connection:open`,
 * `connection:close`, `peer:identify`, `peer:discovery`), plus the keep-alive set: bootstrap
 * peers and peers pinned with {@link keepAlive} are tagged `codio-keep-alive` (value 100) and
 * redialled with exponential backoff whenever their last connection closes (see
 * {@link Reconnector}), and never pruned; and the connection limit: beyond `maxConnections` the
 * least valuable connections are closed to make room (see {@link ConnectionLimiter}). Registered as the libp2p service
 * `peers`.
 */
export class PeerTable implements Startable {
  readonly [Symbol.toStringTag] = '@codio/p2p/peer-table'
  private readonly entries = new Map<string, Entry>()
  private readonly reconnector: Reconnector
  private readonly limiter: ConnectionLimiter
  private readonly log: Logger
  private readonly maxEntries: number
  private readonly bootstrapAddrs = new Map<string, Multiaddr[]>()
  private readonly addressDialer: AddressDialer
  private started = false

  constructor (private readonly components: PeerTableComponents, init: PeerTableInit = {}) {
    if (init.maxEntries != null && !(Number.isInteger(init.maxEntries) && init.maxEntries > 0)) {
      throw new InvalidOptionError(`peer table maxEntries must be a positive integer, got ${init.maxEntries}`)
    }
    this.maxEntries = init.maxEntries ?? DEFAULT_PEER_TABLE_SIZE
    this.log = components.logger.forComponent('codio:p2p:peer-table')
    this.reconnector = new Reconnector(components.connectionManager, this.log, peerId => {
      this.entry(peerId).reconnectAttempts++
    }, init.reconnect)
    if (init.maxConnections != null && !(Number.isInteger(init.maxConnections) && init.maxConnections > 0)) {
      throw new InvalidOptionError(`peer table maxConnections must be a positive integer, got ${init.maxConnections}`)
    }
    this.limiter = new ConnectionLimiter(components.connectionManager, components.peerStore, components.registrar,
      init.maxConnections ?? components.connectionManager.getMaxConnections(), peerId => this.isKept(peerId), this.log)
    this.addressDialer = new AddressDialer(components.peerId, components.connectionManager, this.reconnector,
      init.reconnect?.dialTimeoutMs ?? RECONNECT_DIAL_TIMEOUT_MS, this.log, {
        held: async (peerId, ma) => { await this.holdNamed(peerId, ma) },
        released: async peerId => { await this.releaseNamed(peerId) },
        redial: peerId => { this.entry(peerId).reconnectAttempts++ }
      })
    for (const ma of init.bootstrap ?? []) {
      const id = ma.getComponents().findLast(c => c.code === CODE_P2P)?.value
      if (id == null) {
        this.addressDialer.add(ma)
        continue
      }
      const peerId = peerIdFromString(id)
      // a shared bootstrap list may name this node itself
      if (peerId.equals(components.peerId)) continue
      this.entry(peerId).addresses.add(addrKey(ma))
      this.bootstrapAddrs.set(peerId.toString(), [...(this.bootstrapAddrs.get(peerId.toString()) ?? []), ma.decapsulateCode(CODE_P2P)])
      this.reconnector.pin(peerId, BOOTSTRAP_REASON)
    }
  }

  /** A bootstrap address given without a peer ID answered as `peerId`: tag it like a kept-alive peer. */
  private async holdNamed (peerId: PeerId, ma: Multiaddr): Promise<void> {
    this.entry(peerId).addresses.add(addrKey(ma))
    await this.components.peerStore.merge(peerId, { multiaddrs: [ma], tags: { [KEEP_ALIVE_TAG]: { value: KEEP_ALIVE_TAG_VALUE } } })
  }

  /** The address now answers as another peer: the old one is an ordinary peer again. */
  private async releaseNamed (peerId: PeerId): Promise<void> {
    if (!this.reconnector.isPinned(peerId)) await this.components.peerStore.merge(peerId, { tags: { [KEEP_ALIVE_TAG]: undefined } })
  }

  /** Kept connected: pinned by ID (bootstrap, keepAlive) or held through a bootstrap address. */
  private isKept (peerId: PeerId): boolean {
    return this.reconnector.isPinned(peerId) || this.addressDialer.holds(peerId)
  }

  async start (): Promise<void> {
    this.components.events.addEventListener('connection:open', this.onOpen)
    this.components.events.addEventListener('connection:close', this.onClose)
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.components.events.addEventListener('peer:discovery', this.onDiscovery)
    for (const peerId of this.reconnector.pinned()) {
      await this.components.peerStore.merge(peerId, {
        multiaddrs: this.bootstrapAddrs.get(peerId.toString()) ?? [],
        tags: { [KEEP_ALIVE_TAG]: { value: KEEP_ALIVE_TAG_VALUE } }
      })
    }
    this.started = true
  }

  afterStart (): void {
    this.reconnector.start()
    this.limiter.start()
    this.addressDialer.start()
  }

  stop (): void {
    this.started = false
    this.addressDialer.stop()
    this.reconnector.stop()
    this.limiter.stop()
    this.components.events.removeEventListener('connection:open', this.onOpen)
    this.components.events.removeEventListener('connection:close', this.onClose)
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.components.events.removeEventListener('peer:discovery', this.onDiscovery)
    const now = Date.now()
    for (const e of this.entries.values()) {
      if (e.openConnections.size > 0) {
        e.openConnections.clear()
        e.connectedSince = undefined
        e.disconnectedAt = now
      }
    }
  }

  /** Snapshot of every peer the node has connected to or heard of, most recently seen first. */
  list (): PeerRecord[] {
    const now = Date.now()
    return [...this.entries.values()]
      .map(e => this.snapshot(e, now))
      .sort((a, b) => (b.lastSeen ?? 0) - (a.lastSeen ?? 0))
  }

  /**
   * Snapshot of one peer, or undefined when the table has no entry for it.
   *
   * @throws InvalidPeerIdError when `peerId` is a string that is not a peer ID
   */
  get (peerId: PeerId | string): PeerRecord | undefined {
    const key = typeof peerId === 'string' ? parsePeerId(peerId).toString() : peerId.toString()
    const e = this.entries.get(key)
    return e == null ? undefined : this.snapshot(e, Date.now())
  }

  /** Peers connected now, by the table's reckoning. */
  connected (): PeerRecord[] {
    return this.list().filter(r => r.connections > 0)
  }

  /**
   * Keep `peerId` connected until {@link release} drops the last reason: tag it in the peer store
   * and redial it with backoff whenever it disconnects; dial it now if not connected. Several
   * holders (e.g. two downloads) pin the same peer under different reasons.
   *
   * @throws InvalidPeerIdError when `peerId` is this node's own
   */
  async keepAlive (peerId: PeerId, reason: string): Promise<void> {
    if (peerId.equals(this.components.peerId)) throw new InvalidPeerIdError('a node cannot keep itself alive')
    this.entry(peerId)
    if (this.reconnector.pin(peerId, reason)) {
      await this.components.peerStore.merge(peerId, { tags: { [KEEP_ALIVE_TAG]: { value: KEEP_ALIVE_TAG_VALUE } } })
    }
  }

  /** Drop `reason`'s hold on `peerId`; with no hold left the tag is removed and reconnection stops. */
  async release (peerId: PeerId, reason: string): Promise<void> {
    if (this.reconnector.unpin(peerId, reason)) {
      await this.components.peerStore.merge(peerId, { tags: { [KEEP_ALIVE_TAG]: undefined } })
    }
  }

  /** Whether the node keeps `peerId` connected. */
  isKeptAlive (peerId: PeerId): boolean {
    return this.isKept(peerId)
  }

  /** The connection limit and what the node did to keep it: connections pruned, peak (see {@link ConnectionLimiter}). */
  connectionLimit (): ConnectionLimitStats {
    return this.limiter.stats()
  }

  private snapshot (e: Entry, now: number): PeerRecord {
    const connections = e.openConnections.size
    return {
      peerId: e.peerId.toString(),
      addresses: [...e.addresses],
      protocols: [...e.protocols],
      connectedSince: e.connectedSince,
      disconnectedAt: e.disconnectedAt,
      lastSeen: connections > 0 ? now : e.lastSeen,
      connections,
      connectionsOpened: e.connectionsOpened,
      reconnectAttempts: e.reconnectAttempts,
      keepAlive: this.isKept(e.peerId)
    }
  }

  private entry (peerId: PeerId): Entry {
    const key = peerId.toString()
    let e = this.entries.get(key)
    if (e == null) {
      e = { peerId, addresses: new Set(), protocols: [], openConnections: new Set(), connectionsOpened: 0, reconnectAttempts: 0 }
      this.entries.set(key, e)
      if (this.entries.size > this.maxEntries) this.evict()
    }
    return e
  }

  /** Drop the least recently seen disconnected, not-kept-alive entries down to 90 % of the cap. */
  private evict (): void {
    const victims = [...this.entries.entries()]
      .filter(([, e]) => e.openConnections.size === 0 && !this.isKept(e.peerId))
      .sort(([, a], [, b]) => (a.lastSeen ?? 0) - (b.lastSeen ?? 0))
    const excess = this.entries.size - Math.floor(this.maxEntries * 0.9)
    for (const [key] of victims.slice(0, Math.max(excess, 0))) this.entries.delete(key)
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    const now = Date.now()
    const e = this.entry(conn.remotePeer)
    if (e.openConnections.size === 0) e.connectedSince = now
    e.openConnections.add(conn.id)
    e.connectionsOpened++
    e.lastSeen = now
    e.addresses.add(addrKey(conn.remoteAddr))
    this.reconnector.connected(conn.remotePeer)
    this.limiter.opened(conn)
  }

  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    this.limiter.closed(conn)
    const e = this.entries.get(conn.remotePeer.toString())
    if (e == null || !e.openConnections.delete(conn.id)) return
    const now = Date.now()
    e.lastSeen = now
    if (e.openConnections.size === 0) {
      e.connectedSince = undefined
      e.disconnectedAt = now
      if (this.started) {
        this.reconnector.disconnected(conn.remotePeer)
        this.addressDialer.disconnected(conn.remotePeer)
      }
    }
  }

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { peerId, listenAddrs, protocols, connection } = evt.detail
    if (connection != null) this.limiter.identified(connection)
    const e = this.entry(peerId)
    e.lastSeen = Date.now()
    e.protocols = [...protocols]
    for (const ma of listenAddrs) e.addresses.add(addrKey(ma))
  }

  private readonly onDiscovery = (evt: CustomEvent<PeerInfo>): void => {
    const { id, multiaddrs } = evt.detail
    const e = this.entry(id)
    for (const ma of multiaddrs) e.addresses.add(addrKey(ma))
  }
}

function parsePeerId (s: string): PeerId {
  try {
    return peerIdFromString(s)
  } catch (err: any) {
    throw new InvalidPeerIdError(`"${s}" is not a peer ID: ${err.message}`, { cause: err })
  }
}

/**
 * libp2p service factory for {@link PeerTable}: `services: { peers: peerTable(init) }`.
 *
 * @throws InvalidOptionError when `maxEntries` or a reconnect option is out of range
 */
export function peerTable (init: PeerTableInit = {}): (components: PeerTableComponents) => PeerTable {
  return components => new PeerTable(components, init)
}
