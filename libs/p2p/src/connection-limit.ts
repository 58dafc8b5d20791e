import type { Connection, Logger, PeerId, PeerStore, Stream, StreamMiddleware } from '@libp2p/interface'
import { CONNECTION_GRACE_MS, DHT_PROTOCOL, IDENTIFY_PROTOCOL, IDENTIFY_PUSH_PROTOCOL, IDENTIFY_WAIT_MS, PING_PROTOCOL, REDIAL_MEMORY_MS } from './constants.js'

/** Protocols that run by themselves on every connection (identify, ping): their streams say nothing about its use. */
const SPECULATIVE_PROTOCOLS = new Set([
  IDENTIFY_PROTOCOL,
  IDENTIFY_PUSH_PROTOCOL,
  PING_PROTOCOL
])

/**
 * Peer-store tags whose peers are never pruned: `circuit-relay-source` marks a peer holding a
 * circuit relay v2 reservation on this node (@libp2p/circuit-relay-v2's server): closing it would
 * make that peer unreachable until it reserves again.
 */
const PROTECTING_TAGS = ['circuit-relay-source']

/** Re-check delay while over the limit with nothing prunable yet (connections in their grace period), ms. */
const RECHECK_MS = 1_000

/** Longest wait for a pruned connection's graceful close before it is aborted, ms. */
const CLOSE_TIMEOUT_MS = 1_000

export interface LimitedConnections {
  getConnections(peerId?: PeerId): Connection[]
}

/** The part of libp2p's registrar the limiter uses: stream middleware on the DHT protocol. */
export interface MiddlewareRegistrar {
  use(protocol: string, middleware: StreamMiddleware[]): void
  unuse(protocol: string): void
  getMiddleware(protocol: string): StreamMiddleware[]
}

const copying = new WeakSet<MiddlewareRegistrar>()

/**
 * libp2p 3.3 appends the protocol handler to the very array `getMiddleware` returns for each
 * inbound stream (connection.ts `onIncomingStream`), so a registered middleware list grows by one
 * handler per stream and later streams are handled many times over — outbound ones too.
 * Upstream fix: js-libp2p PR #3534 ("handle terminal middleware without mutating chains"). Until
 * it ships, the registrar hands out a copy.
 */
function copyMiddlewareChains (registrar: MiddlewareRegistrar): void {
  if (copying.has(registrar)) return
  copying.add(registrar)
  const get = registrar.getMiddleware.bind(registrar)
  registrar.getMiddleware = (protocol: string) => [...get(protocol)]
}

/** What the limiter has done since start. */
export interface ConnectionLimitStats {
  /** The limit the node prunes down to. */
  maxConnections: number
  /** Open connections now. */
  open: number
  /** Connections this node closed to make room. */
  pruned: number
  /** Times the node went over `maxConnections` (a connection opened at the limit) and made room. */
  madeRoom: number
  /** Most connections open at once since start (the limit plus what arrived before room was made). */
  peak: number
}

interface Use {
  /** Last time a DHT stream opened or closed on the connection, ms since the epoch. */
  lastDht: number
  /** DHT streams open on it now (an RPC in flight). */
  dhtOpen: number
  /** When identify finished on it, ms since the epoch (0: not yet). */
  identified: number
}

/**
 * Keeps a node at `maxConnections` by making room rather than refusing. libp2p is configured with
 * a higher hard ceiling (see `createP2PNode`), so an inbound connection at the limit is accepted;
 * as soon as connections open beyond `maxConnections` this closes the least valuable ones, in the
 * spirit of go-libp2p's connection manager (high/low water marks with a grace period) and with
 * js-libp2p's own pruning order (connection-pruner.ts) where it applies:
 *
 * - never closed: peers the node keeps alive (bootstrap, relays, peers a download depends on),
 *   peers holding a relay reservation here, connections with an application stream open (a swarm
 *   session, a chunk transfer, a relayed circuit — what libp2p's pruner does not close either),
 *   and connections in their grace period: until identify has run on them (at most
 *   `IDENTIFY_WAIT_MS`) and `CONNECTION_GRACE_MS` after that, so the RPC a connection was
 *   opened for gets to run even on a busy node;
 * - among the rest, first: a peer's second connection, then peers that did not come back after
 *   being pruned (a peer that redials within `REDIAL_MEMORY_MS` of being pruned keeps this node
 *   alive on its side — e.g. it bootstraps through us — and is ranked after the others), then
 *   low peer-store tag value (kad-dht tags routing-table peers 1 and its closest peers 51, so
 *   those go late), then connections with no DHT RPC in flight, then the least recently used
 *   for a DHT RPC (a connection a lookup opened and no longer uses, or one opened only to ping a
 *   new contact, goes first), then newest first.
 *
 * DHT use is seen through stream middleware on the DHT protocol (libp2p `registrar.use`), which
 * runs for inbound and outbound streams alike.
 */
export class ConnectionLimiter {
  private timer?: ReturnType<typeof setTimeout>
  private running = false
  private again = false
  private started = false
  private readonly uses = new Map<string, Use>()
  private readonly counts = { pruned: 0, madeRoom: 0, peak: 0 }
  /** Peers this node pruned, and when. */
  private readonly prunedAt = new Map<string, number>()
  /** Peers that came back after being pruned, and when they last did. */
  private readonly wanted = new Map<string, number>()

  constructor (
    private readonly connections: LimitedConnections,
    private readonly peerStore: PeerStore,
    private readonly registrar: MiddlewareRegistrar,
    readonly maxConnections: number,
    private readonly isKeptAlive: (peerId: PeerId) => boolean,
    private readonly log: Logger
  ) {}

  start (): void {
    this.started = true
    copyMiddlewareChains(this.registrar)
    this.registrar.use(DHT_PROTOCOL, [this.onDhtStream])
  }

  stop (): void {
    this.started = false
    this.registrar.unuse(DHT_PROTOCOL)
    clearTimeout(this.timer)
    this.timer = undefined
    this.uses.clear()
    this.prunedAt.clear()
    this.wanted.clear()
  }

  stats (): ConnectionLimitStats {
    return { maxConnections: this.maxConnections, open: this.openConnections().length, ...this.counts }
  }

  /** A connection opened: make room at once if the node is now over its limit. */
  opened (conn: Connection): void {
    const key = conn.remotePeer.toString()
    const now = Date.now()
    const pruned = this.prunedAt.get(key)
    if (pruned != null) {
      this.prunedAt.delete(key)
      if (now - pruned < REDIAL_MEMORY_MS && conn.direction === 'inbound') this.wanted.set(key, now)
    }
    const open = this.openConnections().length
    if (open > this.counts.peak) this.counts.peak = open
    if (open > this.maxConnections) this.schedule(0)
  }

  /** A connection closed: forget its use record. */
  closed (conn: Connection): void {
    this.uses.delete(conn.id)
  }

  /** Identify finished on `conn`: its grace period runs from now. */
  identified (conn: Connection): void {
    this.use(conn).identified ||= Date.now()
  }

  private use (conn: Connection): Use {
    let use = this.uses.get(conn.id)
    if (use == null && conn.status === 'open') {
      use = { lastDht: 0, dhtOpen: 0, identified: 0 }
      this.uses.set(conn.id, use)
    }
    return use ?? { lastDht: 0, dhtOpen: 0, identified: 0 }
  }

  /** Still in its grace period: not identified yet (for at most IDENTIFY_WAIT_MS), or identified less than CONNECTION_GRACE_MS ago. */
  private inGrace (c: Connection, now: number): boolean {
    const identified = this.uses.get(c.id)?.identified ?? 0
    if (identified === 0) return now - c.timeline.open < IDENTIFY_WAIT_MS
    return now - Math.max(identified, c.timeline.open) < CONNECTION_GRACE_MS
  }

  private readonly onDhtStream: StreamMiddleware = (stream: Stream, connection: Connection, next) => {
    const use = this.use(connection)
    use.lastDht = Date.now()
    use.dhtOpen++
    stream.addEventListener('close', () => {
      use.lastDht = Date.now()
      use.dhtOpen = Math.max(0, use.dhtOpen - 1)
    }, { once: true })
    next(stream, connection)
  }

  private openConnections (): Connection[] {
    return this.connections.getConnections().filter(c => c.status === 'open')
  }

  private schedule (ms: number): void {
    if (!this.started) return
    if (this.running) {
      this.again = true
      return
    }
    if (this.timer != null) {
      if (ms > 0) return
      clearTimeout(this.timer)
    }
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.prune().catch(err => { this.log.error('could not prune connections - %e', err) })
    }, ms)
    this.timer.unref?.()
  }

  /** Close the least valuable connections beyond the limit; returns how many were closed. */
  async prune (): Promise<number> {
    if (this.running || !this.started) return 0
    this.running = true
    let closed = 0
    let waiting = false
    try {
      const open = this.openConnections()
      const excess = open.length - this.maxConnections
      if (excess <= 0) return 0
      const now = Date.now()
      const perPeer = new Map<string, Connection[]>()
      for (const c of open) {
        const key = c.remotePeer.toString()
        perPeer.set(key, [...(perPeer.get(key) ?? []), c])
      }
      const value = new Map<string, { sum: number, protectedTag: boolean }>()
      await Promise.all([...perPeer.values()].map(async ([c]) => {
        let sum = 0
        let protectedTag = false
        try {
          const peer = await this.peerStore.get(c.remotePeer)
          for (const [name, tag] of peer.tags) {
            sum += tag.value
            if (PROTECTING_TAGS.includes(name)) protectedTag = true
          }
        } catch {}
        value.set(c.remotePeer.toString(), { sum, protectedTag })
      }))
      const appBusy = (c: Connection): boolean => c.streams.some(s => s.protocol != null && s.protocol !== '' &&
        s.protocol !== DHT_PROTOCOL && !SPECULATIVE_PROTOCOLS.has(s.protocol))
      const candidates = []
      for (const c of open) {
        const key = c.remotePeer.toString()
        const v = value.get(key) ?? { sum: 0, protectedTag: false }
        if (this.isKeptAlive(c.remotePeer) || v.protectedTag || appBusy(c)) continue
        if (this.inGrace(c, now)) {
          waiting = true
          continue
        }
        const siblings = perPeer.get(key) ?? []
        // the peer's oldest connection is the one libp2p reuses; later ones only take a slot
        const duplicate = siblings.length > 1 && siblings.some(s => s.timeline.open < c.timeline.open) ? 0 : 1
        const use = this.uses.get(c.id)
        const wantedAt = this.wanted.get(key)
        const wanted = wantedAt != null && now - wantedAt < REDIAL_MEMORY_MS * 10 ? 1 : 0
        if (wantedAt != null && wanted === 0) this.wanted.delete(key)
        candidates.push({ c, duplicate, wanted, value: v.sum, inFlight: (use?.dhtOpen ?? 0) > 0 ? 1 : 0, lastDht: use?.lastDht ?? 0 })
      }
      const victims = candidates
        .sort((a, b) =>
          a.duplicate - b.duplicate ||
          a.wanted - b.wanted ||
          a.value - b.value ||
          a.inFlight - b.inFlight ||
          a.lastDht - b.lastDht ||
          b.c.timeline.open - a.c.timeline.open)
        .slice(0, excess)
      if (victims.length === 0) return 0
      this.counts.madeRoom++
      closed = victims.length
      this.counts.pruned += closed
      for (const { c } of victims) this.prunedAt.set(c.remotePeer.toString(), now)
      if (this.prunedAt.size > 4 * this.maxConnections + 64) {
        for (const [key, t] of this.prunedAt) if (now - t >= REDIAL_MEMORY_MS) this.prunedAt.delete(key)
        for (const [key, t] of this.wanted) if (now - t >= REDIAL_MEMORY_MS * 10) this.wanted.delete(key)
      }
      this.log('%d connections over the limit of %d: closing %d', open.length, this.maxConnections, victims.length)
      await Promise.all(victims.map(async ({ c }) => {
        try {
          await c.close({ signal: AbortSignal.timeout(CLOSE_TIMEOUT_MS) })
        } catch (err: any) {
          c.abort(err)
        }
      }))
      return closed
    } finally {
      this.running = false
      if (this.started && (this.again || this.openConnections().length > this.maxConnections)) {
        const retry = this.again || closed > 0 ? 0 : waiting ? Math.min(RECHECK_MS, CONNECTION_GRACE_MS) : RECHECK_MS
        this.again = false
        this.schedule(retry)
      }
    }
  }
}
