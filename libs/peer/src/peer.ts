import { join } from 'node:path'
import { chunkExchange, swarmSessions, type ChunkExchange, type PeerLimits, type RefusalReason, type SwarmSessions } from '@codio/exchange'
import { createP2PNode, DEFAULT_LISTEN, loadOrCreatePeerKey, type P2PNode } from '@codio/p2p'
import { DhtManager } from '@codio/dht'
import { BlockStore } from '@codio/store'
import type { Manifest } from '@codio/content'
import { DEFAULT_SWARM_POLICY, listenAddresses, SwarmHost, type Download, type LiveSwarmPolicyKey, type PickStrategy, type SwarmPolicy } from '@codio/swarm'
import type { TrustedKeys } from '@codio/signing'
import type { Logger, Registry } from '@codio/telemetry'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'
import { createPeerMetrics, registerStoreMetrics, type PeerMetrics } from './metrics.js'
import { codioUserAgent, PeerRoles } from './peer-roles.js'
import type { ByteRange } from './content-reader.js'
import type { ProviderSource } from './provider-search.js'
import { natsAuthOptions, type NatsAuthInit } from '@codio/tracker'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { BanList, cutOff } from './bans.js'
import { purgeContent, type PurgeResult } from './purge.js'
import { Announcer } from './announcer.js'
import { Downloads, type FecTotals } from './downloads.js'
import { PeerGossip } from './gossip.js'
import { providerSearches } from './provider-searches.js'
import { Resolver, type ResolvedContent } from './resolver.js'
import { trackerProviderSource } from './tracker-source.js'
import { bulkChannelInit, type BulkSettings } from './bulk.js'

/** A relay's default ceiling on connections: it holds one per reservation on top of its swarm peers. */
export const RELAY_MAX_CONNECTIONS = 200

/** How often the peer's gauges (connections, DHT, choked peers) are updated (ms). */
export const GAUGES_INTERVAL_MS = 5000

export interface PeerInit {
  role: 'origin' | 'relay' | 'edge'
  /** The service's version, told to peers in identify's agent version (`codio-<role>/<version>`). */
  version?: string
  /** Holds `store/` and, unless `keyFile` names another place, `peer.key`. */
  dataDir: string
  /**
   * The libp2p private key: libp2p's protobuf encoding or a PEM PKCS#8 Ed25519 key (e.g. a
   * mounted Kubernetes Secret). Default `<dataDir>/peer.key`, created when missing.
   */
  keyFile?: string
  listen?: string[]
  announce?: string[]
  bootstrap?: string[]
  quic?: boolean
  /** mDNS discovery on the local network. Default off. */
  mdns?: boolean
  /** Circuit relay v2 server. Default: on at a relay. */
  relayServer?: boolean
  /** Relays to hold a reservation on, for a node with no dialable address. */
  relayReservation?: string[]
  /** Ceiling on open connections. Default 200 at a relay, 50 elsewhere. */
  maxConnections?: number
  /** The exchange's bulk channel (see {@link bulkChannelInit}). Default: on, on the host of `listen`'s first TCP address, a free port. */
  bulk?: BulkSettings
  /** Publisher keys whose manifests this peer accepts. */
  trustedKeys: TrustedKeys
  /** Longest provider lookup before content counts as unknown (ms). Default 10 000. */
  lookupTimeoutMs?: number
  /** Per-request time limit (ms). Default 30 000. */
  requestTimeoutMs?: number
  perPeerInFlight?: number | 'adaptive'
  maxInFlight?: number
  /** Piece order beyond the streaming window. Default rarest-first. */
  strategy?: PickStrategy
  /** Chunks ahead of an HTTP reader fetched first. Default 8. */
  streamingWindow?: number
  /**
   * Rate limits, choking and super-seeding (config `[swarm]`). Default: unlimited, choking on,
   * 4 + 1 slots, 10 s / 30 s, super-seeding at an origin only.
   */
  swarm?: Partial<SwarmPolicy>
  /**
   * What one remote peer may cost this node (config `[limits]`, read at start); each refusal
   * counts in `codio_exchange_refused_total{reason}`. Default: `DEFAULT_PEER_LIMITS`.
   */
  limits?: Partial<PeerLimits>
  /**
   * The tracker (config `[tracker]`): `url` of its TrackerService, asked for providers before
   * the DHT; `nats` servers this peer gossips its availability and metrics to.
   */
  tracker?: { url?: string, nats?: string[], natsAuth?: NatsAuthInit, gossipIntervalMs?: number, timeoutMs?: number, tokenFile?: string }
  /**
   * The source asked for providers before connected peers and the DHT, instead of the one
   * built from `tracker.url` (an embedding that has its own directory of peers).
   */
  providerSource?: ProviderSource
  log: Logger
  registry: Registry
}

/** The settings {@link CodioPeer.reconfigure} changes on a running peer (config keys in parentheses). */
export interface PeerReconfigure {
  /** ms (`fetch.lookupTimeout`) */
  lookupTimeoutMs?: number
  /** ms (`fetch.requestTimeout`) */
  requestTimeoutMs?: number
  perPeerInFlight?: number | 'adaptive'
  maxInFlight?: number
  strategy?: PickStrategy
  streamingWindow?: number
  /** rate limits (bytes/s) and choker slots/intervals (`[swarm]`) */
  swarm?: Partial<Pick<SwarmPolicy, LiveSwarmPolicyKey>>
  /** ms (`tracker.gossipInterval`) */
  gossipIntervalMs?: number
  /** the publisher keys manifests are checked against from now on (`trust.*`) */
  trustedKeys?: TrustedKeys
}

export type CodioNode = P2PNode<{ exchange: ChunkExchange, sessions: SwarmSessions }>

/** The swarm policy when a service sets none (@codio/swarm's, where the policy lives). */
export { DEFAULT_SWARM_POLICY }

/** The parts {@link CodioPeer.create} wires, each its own concern (js-libp2p's components). */
export interface PeerComponents {
  node: CodioNode
  store: BlockStore
  metrics: PeerMetrics
  swarm: SwarmHost
  dht: DhtManager
  bans: BanList
  peerRoles: PeerRoles
  announcer: Announcer
  resolver: Resolver
  downloads: Downloads
  gossip: PeerGossip
}

/**
 * One Codio peer: a durable block store, a libp2p node serving it over `/codio/chunk/1.0.0`,
 * DHT provider records for every content it holds (re-announced after a restart), manifest
 * resolution with signature checks, and swarm downloads shared by all readers of a content.
 * It wires its parts and delegates: {@link Announcer} (provider records and their retries),
 * {@link Resolver} (manifests), {@link Downloads} (swarm downloads and reads), {@link SwarmHost}
 * (sessions, choking, seeding), {@link PeerGossip} (the tracker's gossip).
 */
export class CodioPeer {
  readonly node: CodioNode
  readonly store: BlockStore
  readonly metrics: PeerMetrics
  /** FEC repair totals since start (also in {@link metrics}). */
  readonly fecTotals: FecTotals
  readonly swarm: SwarmHost
  /** The roles of connected peers (from identify), for the transfer metrics' `peer_role`. */
  readonly peerRoles: PeerRoles
  /** The DHT manager: provider records, lookups, routing-table refresh (libs/dht). */
  readonly dht: DhtManager
  /**
   * Peers this node refuses (node bans from the admin API, persisted in `<dataDir>/bans.json`;
   * cluster bans set by `bans.setClusterBans`): no connection either way, no chunk asked or
   * served, never a provider.
   */
  readonly bans: BanList
  private readonly announcer: Announcer
  private readonly resolver: Resolver
  private readonly downloads: Downloads
  private readonly gossip: PeerGossip
  private metricsTimer?: NodeJS.Timeout

  /** `init` is the peer's live configuration: {@link reconfigure} changes it, the parts read it. */
  private constructor (readonly init: PeerInit, components: PeerComponents, readonly startedAt: number) {
    this.node = components.node
    this.store = components.store
    this.metrics = components.metrics
    this.swarm = components.swarm
    this.dht = components.dht
    this.bans = components.bans
    this.peerRoles = components.peerRoles
    this.announcer = components.announcer
    this.resolver = components.resolver
    this.downloads = components.downloads
    this.gossip = components.gossip
    this.fecTotals = components.downloads.fecTotals
  }

  static async create (init: PeerInit): Promise<CodioPeer> {
    const startedAt = Date.now()
    const store = await BlockStore.open(join(init.dataDir, 'store'))
    const privateKey = await loadOrCreatePeerKey(init.keyFile ?? join(init.dataDir, 'peer.key'))
    const bans = await BanList.open({ file: join(init.dataDir, 'bans.json'), self: peerIdFromPrivateKey(privateKey) })
    const denied = (peer: PeerId): boolean => bans.isBanned(peer)
    const metrics = createPeerMetrics(init.registry)
    registerStoreMetrics(init.registry, store)
    let roles: PeerRoles | undefined
    const roleOf = (peer: PeerId): string => roles?.of(peer) ?? 'unknown'
    const onRefused = (_peer: PeerId, reason: RefusalReason): void => { metrics.exchangeRefused.inc({ reason }) }
    let host: SwarmHost | undefined
    const node = await createP2PNode<{ exchange: ChunkExchange, sessions: SwarmSessions }>({
      privateKey,
      userAgent: codioUserAgent(init.role, init.version),
      // libp2p's own connection, stream, transfer and kad-dht metrics, in the peer's registry
      metrics: prometheusMetrics({ registry: init.registry, collectDefaultMetrics: false, statfsLocation: store.dir }),
      listen: init.listen,
      announce: init.announce,
      bootstrap: init.bootstrap,
      quic: init.quic,
      mdns: init.mdns ?? false,
      relayServer: init.relayServer ?? init.role === 'relay',
      relayReservation: init.relayReservation,
      maxConnections: init.maxConnections ?? (init.role === 'relay' ? RELAY_MAX_CONNECTIONS : undefined),
      denyPeer: denied,
      services: {
        exchange: chunkExchange({
          blocks: store,
          // read at every request, so that reconfigure() applies at once
          get requestTimeout () { return init.requestTimeoutMs },
          admit: (peer, cid) => host?.admit(peer, cid),
          // peers share the upload limit evenly (a FIFO lets one peer's queued requests hold
          // up everyone, and a newcomer's manifest wait behind megabytes of chunks)
          beforeServe: async (peer, bytes, signal) => { await host?.uploadQueue.take(peer.toString(), bytes, signal) },
          onServed: (peer, bytes) => {
            const peerRole = roleOf(peer)
            metrics.chunksServed.inc({ peer_role: peerRole })
            metrics.bytesServed.inc({ peer_role: peerRole }, bytes)
            host?.rates.recordUp(peer.toString(), bytes)
          },
          onVerificationFailure: () => metrics.verificationFailures.inc(),
          onFetchFailure: (_peer, reason) => metrics.fetchFailures.inc({ reason }),
          denied,
          limits: init.limits,
          onRefused,
          bulk: bulkChannelInit(init.bulk, init.listen ?? DEFAULT_LISTEN, (_peer, reason) => { metrics.bulkFallbacks.inc({ reason }) })
        }),
        sessions: swarmSessions({ denied, limits: init.limits, onRefused })
      }
    })
    const exchange = node.services.exchange
    const dht = new DhtManager(node, {
      onQueryDone: (operation, ms, result) => { metrics.dhtQueryDuration.observe({ operation, result }, ms / 1000) }
    })
    bans.setEnforcer(async peer => await cutOff({
      getConnections: p => node.getConnections(p),
      closeExchange: p => { exchange.closePeer(p) },
      forgetPeer: async p => { await dht.forgetPeer(p) }
    }, peer))
    // an origin super-seeds (BEP 16) unless told otherwise: it is the initial seed of all it holds
    const policy = { ...DEFAULT_SWARM_POLICY, ...init.swarm, superSeeding: init.swarm?.superSeeding ?? init.role === 'origin' }
    let downloads: Downloads | undefined
    const swarm = host = new SwarmHost(store, node.services.sessions, policy, init.log, {
      peerId: node.peerId,
      // an edge streams to its clients: a super-seed shows it chunks in the order they read them
      streams: (id) => roles?.of(id) === 'edge',
      pex: {
        addresses: async (id) => await listenAddresses(node, id),
        learned: (contentId, peers) => { downloads?.joinNamedPeers(contentId, peers) }
      }
    })
    const peerRoles = roles = new PeerRoles(node)
    const url = init.tracker?.url
    const providerSource = init.providerSource ?? (url != null && url !== ''
      ? trackerProviderSource({ peerId: node.peerId, metrics, log: init.log }, { url, timeoutMs: init.tracker?.timeoutMs, tokenFile: init.tracker?.tokenFile })
      : undefined)
    const searches = providerSearches({ node, dht, providerSource, excluded: denied })
    let peer: CodioPeer | undefined
    const announcer = new Announcer({ node, dht, store, isReady: () => peer?.isReady() === true, metrics, log: init.log })
    const gossip = new PeerGossip({ node, exchange, swarm, privateKey, startedAt, log: init.log }, init)
    const resolver = new Resolver({ store, exchange, searches }, init)
    downloads = new Downloads({
      node,
      store,
      exchange,
      swarm,
      searches,
      resolver,
      announcer,
      bans,
      metrics,
      peerRoles,
      log: init.log,
      complete: async contentId => { await peer?.markComplete(contentId) },
      changed: () => { gossip.changed() }
    }, init)
    peer = new CodioPeer(init, { node, store, metrics, swarm, dht, bans, peerRoles, announcer, resolver, downloads, gossip }, startedAt)
    return peer
  }

  get peerId (): PeerId {
    return this.node.peerId
  }

  get exchange (): ChunkExchange {
    return this.node.services.exchange
  }

  /**
   * Whether this peer can find and serve content: started and, when it has bootstrap peers, with
   * at least one peer in its DHT routing table (a connection alone is not enough: a peer enters
   * the table only once identify has confirmed it speaks the DHT protocol).
   */
  isReady (): boolean {
    return this.node.status === 'started' && ((this.init.bootstrap?.length ?? 0) === 0 || this.node.services.dht.routingTable.size > 0)
  }

  /** @throws NatsCredentialsError when a configured NATS credential file cannot be read */
  async start (): Promise<void> {
    // read before anything starts: a node that cannot log in to NATS is misconfigured
    const natsOptions = await natsAuthOptions(this.init.tracker?.natsAuth)
    await this.node.start()
    this.dht.start()
    this.swarm.start()
    this.metricsTimer = setInterval(() => this.updateGauges(), GAUGES_INTERVAL_MS)
    this.metricsTimer.unref()
    this.announcer.start()
    this.gossip.start(natsOptions)
  }

  async stop (): Promise<void> {
    clearInterval(this.metricsTimer)
    this.announcer.stop()
    this.downloads.stop()
    this.swarm.stop()
    this.dht.stop()
    await this.gossip.stop()
    await this.node.stop()
  }

  private updateGauges (): void {
    this.metrics.connectedPeers.set(this.node.getConnections().length)
    const dht = this.dht.stats()
    this.metrics.dhtRoutingTablePeers.set(dht.routingTableSize)
    this.metrics.dhtProviding.set(dht.providing)
    if (dht.providerRecords >= 0) this.metrics.dhtProviderRecords.set(dht.providerRecords)
    this.metrics.dhtPendingQueries.set(dht.pendingQueries)
    let choked = 0
    let unchoked = 0
    for (const s of this.swarm.peerStates().values()) s.choked ? choked++ : unchoked++
    this.metrics.swarmPeers.set({ state: 'choked' }, choked)
    this.metrics.swarmPeers.set({ state: 'unchoked' }, unchoked)
  }

  /** Announce `contentId` as held here ({@link Announcer.provide}); failures are logged and tried again. */
  async provide (contentId: CID): Promise<void> {
    await this.announcer.provide(contentId)
  }

  /** How many held contents still wait for their first successful DHT announcement. */
  pendingAnnouncements (): number {
    return this.announcer.pending()
  }

  /**
   * Record a whole content as held, gossip it, and announce it (waiting at most
   * `PROVIDE_WAIT_MS` for the record, {@link Announcer.announceHeld}).
   */
  async markComplete (contentId: CID): Promise<void> {
    await this.store.addContent(contentId)
    this.gossip.changed()
    this.metrics.contents.set((await this.store.listContents()).length)
    await this.announcer.announceHeld(contentId)
  }

  /**
   * The verified manifest of `contentId` ({@link Resolver.resolve}).
   *
   * @throws ContentNotFoundError, ManifestUnavailableError, ManifestDecodeError,
   *   UntrustedPublisherError, InvalidSignatureError
   */
  async resolve (contentId: CID, signal?: AbortSignal): Promise<ResolvedContent> {
    return await this.resolver.resolve(contentId, signal)
  }

  /**
   * The bytes of `ranges` of a resolved content, each an iterable of verified chunks or slices
   * of them, in order ({@link Downloads.read}).
   *
   * @throws (while iterating) ChunkUnavailableError, DownloadAbortedError, StoreIOError, BlockMissingError
   */
  read (resolved: ResolvedContent, ranges: ByteRange[]): Array<AsyncIterable<Uint8Array>> {
    return this.downloads.read(resolved, ranges)
  }

  /** The download of a resolved content's chunks `first..last` (default all; {@link Downloads.download}). */
  download (resolved: ResolvedContent, range?: { first: number, last: number }): Download {
    return this.downloads.download(resolved, range)
  }

  /** Peers a swarm peer named by peer exchange (BEP 11) while we fetch `contentId` ({@link Downloads.joinNamedPeers}). */
  joinNamedPeers (contentId: CID, peers: Array<{ id: PeerId, multiaddrs: Multiaddr[] }>): void {
    this.downloads.joinNamedPeers(contentId, peers)
  }

  /** Fetch a whole content into the store and provide it (the admin Prefetch call). */
  async prefetch (contentId: CID, signal?: AbortSignal): Promise<{ manifest: Manifest, chunksFetched: number, seconds: number }> {
    return await this.downloads.prefetch(contentId, signal)
  }

  /**
   * Remove a content from this node (the admin `Purge` call; see {@link purgeContent}): its
   * downloads here fail with DownloadAbortedError, its swarm sessions close, its manifest and
   * chunks leave the store (chunks another stored manifest names stay), the local provider
   * record goes and is not re-provided — records other DHT peers hold for us expire by their
   * TTL (24 h) — and the tracker hears at once that this node no longer holds it. Idempotent;
   * the content can be fetched again later like any other.
   *
   * @throws StoreIOError when the store cannot be read or written
   */
  async purge (contentId: CID): Promise<PurgeResult> {
    const key = contentId.toString()
    const result = await purgeContent({
      store: this.store,
      stopDownloads: cid => { this.downloads.abort(cid, `content ${key} was purged`) },
      leaveSwarm: cid => { this.swarm.forget(cid) },
      stopProviding: async cid => { await this.announcer.withdraw(cid) },
      gossipNow: async () => { await this.gossip.publishNow() }
    }, contentId)
    this.metrics.contents.set((await this.store.listContents()).length)
    if (result.held) this.init.log.info({ contentId: key, ...result }, 'purged')
    return result
  }

  /**
   * Apply live settings (a configuration change at run time), each only when given: provider
   * lookup and request time limits (ms) and publisher keys for the next lookup, request and
   * manifest check; request depth, piece order and streaming window for new downloads and
   * those running; rate limits and choker slots/intervals at once ({@link SwarmHost.reconfigure});
   * the gossip period ({@link GossipPublisher.setIntervalMs}). All values are checked before
   * any applies.
   *
   * @throws RangeError for a value out of range, changing nothing
   */
  reconfigure (change: PeerReconfigure): void {
    const fetch = { perPeerInFlight: change.perPeerInFlight, maxInFlight: change.maxInFlight, strategy: change.strategy, streamingWindow: change.streamingWindow }
    for (const key of ['lookupTimeoutMs', 'requestTimeoutMs', 'gossipIntervalMs'] as const) {
      const v = change[key]
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) throw new RangeError(`${key} must be a number of ms > 0, got ${String(v)}`)
    }
    const { perPeerInFlight: perPeer, maxInFlight: most, strategy, streamingWindow: window } = fetch
    if (perPeer !== undefined && perPeer !== 'adaptive' && (!Number.isInteger(perPeer) || perPeer < 1)) throw new RangeError(`perPeerInFlight must be an integer ≥ 1 or "adaptive", got ${String(perPeer)}`)
    if (most !== undefined && (!Number.isInteger(most) || most < 1)) throw new RangeError(`maxInFlight must be an integer ≥ 1, got ${String(most)}`)
    if (strategy !== undefined && !['rarest-first', 'sequential', 'random'].includes(strategy)) throw new RangeError(`strategy must be rarest-first, sequential or random, got ${String(strategy)}`)
    if (window !== undefined && (!Number.isInteger(window) || window < 0)) throw new RangeError(`streamingWindow must be an integer ≥ 0, got ${String(window)}`)
    if (change.swarm != null) this.swarm.reconfigure(change.swarm)
    if (change.lookupTimeoutMs !== undefined) this.init.lookupTimeoutMs = change.lookupTimeoutMs
    if (change.requestTimeoutMs !== undefined) this.init.requestTimeoutMs = change.requestTimeoutMs
    if (change.trustedKeys !== undefined) this.init.trustedKeys = change.trustedKeys
    if (change.gossipIntervalMs !== undefined) {
      this.init.tracker = { ...this.init.tracker, gossipIntervalMs: change.gossipIntervalMs }
      this.gossip.setIntervalMs(change.gossipIntervalMs)
    }
    this.downloads.reconfigure(fetch)
    if (change.perPeerInFlight !== undefined) this.init.perPeerInFlight = change.perPeerInFlight
    if (change.maxInFlight !== undefined) this.init.maxInFlight = change.maxInFlight
    if (change.strategy !== undefined) this.init.strategy = change.strategy
    if (change.streamingWindow !== undefined) this.init.streamingWindow = change.streamingWindow
  }
}
