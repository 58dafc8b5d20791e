import { join } from 'node:path'
import { chunksForRange, decodeManifest, verifyManifest, type Manifest } from '@codio/content'
import { chunkExchange, swarmSessions, type ChunkExchange, type PeerLimits, type RefusalReason, type SwarmSessions } from '@codio/exchange'
import { createP2PNode, keepAlive, loadOrCreatePeerKey, releaseKeepAlive, type P2PNode } from '@codio/p2p'
import { DhtManager } from '@codio/dht'
import { fecPlan } from '@codio/fec'
import { BlockStore } from '@codio/store'
import { Download, DownloadAbortedError, type PickStrategy } from '@codio/swarm'
import type { TrustedKeys } from '@codio/signing'
import type { Logger, Registry } from '@codio/telemetry'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { ContentNotFoundError, ManifestUnavailableError } from './errors.js'
import { createPeerMetrics, registerStoreMetrics, type PeerMetrics } from './metrics.js'
import { codioUserAgent, PeerRoles } from './peer-roles.js'
import { readRange, type ByteRange } from './content-reader.js'
import { ProviderSearch, type ConnectedPeers, type ProviderSource } from './provider-search.js'
import { GossipPublisher, natsAuthOptions, TrackerClient, type GossipPublisherInit, type NatsAuthInit } from '@codio/tracker'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { listenAddresses, SwarmHost, type LiveSwarmPolicyKey, type SwarmPolicy } from './swarm-host.js'
import { BanList, cutOff } from './bans.js'
import { purgeContent, type PurgeResult } from './purge.js'
import { DownloadTrace, peerTracer } from './download-trace.js'
import { withSpan } from '@codio/tracing'

/** How often announcements that found no DHT peer are tried again (ms). */
export const ANNOUNCE_RETRY_MS = 1000

/** Period of the provider lookups that find peers which started fetching a content after us (ms). */
export const REDISCOVER_MS = 1000

/** Longest pause between those lookups (ms). */
export const REDISCOVER_MAX_MS = 10_000

/**
 * With peer exchange, session peers name late joiners within a second, and the lookups only
 * catch peers that share no session peer with us: the first comes after this many ms, the
 * pause doubles up to {@link REDISCOVER_MAX_PEX_MS}. (Every lookup asks most of a small DHT:
 * at 16 peers, lookups each second were the largest CPU cost of a swarm's first seconds.)
 */
export const REDISCOVER_PEX_MS = 10_000
export const REDISCOVER_MAX_PEX_MS = 60_000

/**
 * Sources a download is content with when peer exchange is on: with this many, a round of
 * rediscovery is skipped (more peers would not fill our download further, and sixteen peers
 * walking the DHT at once stalled the swarm for a second).
 */
export const REDISCOVER_ENOUGH_PEERS = 10

/**
 * A whole download announces itself as a provider once it holds this share of the chunks (or
 * at completion). Its swarm peers know it already (sessions, peer exchange) and a newcomer
 * needs one provider to join the swarm, which the seed's record gives; an early record only
 * adds DHT walks — sixteen peers providing in a swarm's first seconds cost it about a second
 * at N = 16 — for peers with little to offer.
 */
export const PROVIDE_AT_FRACTION = 0.5

/** A relay's default ceiling on connections: it holds one per reservation on top of its swarm peers. */
export const RELAY_MAX_CONNECTIONS = 200

/**
 * Bytes of verified chunks a download keeps in memory ahead of its reader (`readAhead` of
 * `@codio/swarm`, at least two chunks): an edge response streams them as they arrive instead of
 * reading back from the store what the download has just written. 8 MiB: the streaming window
 * (8 chunks of 1 MiB) the picker requests ahead of the reader.
 */
export const READ_AHEAD_BYTES = 8 * 1024 * 1024

/** Head start a provider gets before the next one is also asked for a manifest (ms). */
export const MANIFEST_HEDGE_MS = 300

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

/** The swarm policy when a service sets none: no rate limits, BEP 3 choking with 4 + 1 slots. */
export const DEFAULT_SWARM_POLICY: SwarmPolicy = {
  maxUploadRate: 0,
  maxDownloadRate: 0,
  choking: true,
  regularUnchokeSlots: 4,
  optimisticUnchokeSlots: 1,
  unchokeInterval: 10_000,
  optimisticUnchokeInterval: 30_000,
  superSeeding: false,
  // the origin budget the swarm benchmark is held to (1.5·F): once every chunk is out, the
  // origin spends half a copy on the least spread chunks instead of idling (bench:swarm)
  superSeedCopies: 1.5,
  peerExchange: true
}

/** A resolved content: its verified manifest and the provider lookup still feeding peers. */
export interface ResolvedContent {
  contentId: CID
  manifest: Manifest
  /** True when every chunk is already in the local store. */
  local: boolean
  search?: ProviderSearch
}

/**
 * Longest {@link CodioPeer.markComplete} waits for the DHT announcement before it returns and the
 * announcement finishes in the background (ms).
 */
export const PROVIDE_WAIT_MS = 2000

/**
 * One Codio peer: a durable block store, a libp2p node serving it over `/codio/chunk/1.0.0`,
 * DHT provider records for every content it holds (re-announced after a restart), manifest
 * resolution with signature checks, and swarm downloads shared by all readers of a content.
 */
export class CodioPeer {
  private readonly resolving = new Map<string, Promise<ResolvedContent>>()
  /** Whole-content downloads in progress, and the promise that records and provides each. */
  private readonly downloads = new Map<string, { dl: Download, complete: Promise<void> }>()
  /** Range downloads in progress, by content (a purge fails them too). */
  private readonly rangeDownloads = new Map<string, Set<Download>>()
  readonly metrics: PeerMetrics
  readonly startedAt = Date.now()
  /** FEC repair totals since start (also in {@link metrics}). */
  readonly fecTotals = { chunksRebuilt: 0, parityChunksFetched: 0, groupsRepaired: 0 }
  private metricsTimer?: NodeJS.Timeout
  private announceTimer?: NodeJS.Timeout
  /** Contents to provide once the DHT has a peer to hold the records. */
  private readonly unannounced = new Map<string, CID>()
  /** Contents whose provider records reached the DHT since start (kad-dht republishes them). */
  private readonly announced = new Set<string>()

  readonly swarm: SwarmHost
  private readonly providerSource?: ProviderSource
  /** The peers a lookup asks before it walks the DHT (want-have over the chunk exchange). */
  private readonly connectedPeers: ConnectedPeers
  private gossip?: GossipPublisher
  /** The roles of connected peers (from identify), for the transfer metrics' `peer_role`. */
  readonly peerRoles: PeerRoles

  /** Peers kept connected for each whole download, released when it ends. */
  private readonly keptAlive = new WeakMap<Download, Map<string, PeerId>>()

  /** The DHT manager: provider records, lookups, routing-table refresh (libs/dht). */
  readonly dht: DhtManager

  /**
   * Peers this node refuses (node bans from the admin API, persisted in `<dataDir>/bans.json`;
   * cluster bans set by `bans.setClusterBans`): no connection either way, no chunk asked or
   * served, never a provider.
   */
  readonly bans: BanList

  private constructor (readonly init: PeerInit, readonly node: CodioNode, readonly store: BlockStore, metrics: PeerMetrics, swarm: SwarmHost,
    private readonly privateKey: PrivateKey, bans: BanList, peerRoles: PeerRoles) {
    this.metrics = metrics
    this.swarm = swarm
    this.peerRoles = peerRoles
    this.dht = new DhtManager(node, {
      onQueryDone: (operation, ms, result) => { metrics.dhtQueryDuration.observe({ operation, result }, ms / 1000) }
    })
    this.bans = bans
    bans.setEnforcer(async peer => await cutOff({
      getConnections: p => node.getConnections(p),
      closeExchange: p => { node.services.exchange.closePeer(p) },
      forgetPeer: async p => { await this.dht.forgetPeer(p) }
    }, peer))
    this.connectedPeers = {
      peers: () => node.getPeers(),
      has: async (peer, cid, signal) => await this.exchange.has(peer, cid, { signal })
    }
    const url = init.tracker?.url
    if (init.providerSource != null) {
      this.providerSource = init.providerSource
    } else if (url != null && url !== '') {
      const client = new TrackerClient({ baseUrl: url, timeoutMs: init.tracker?.timeoutMs ?? 500, tokenFile: init.tracker?.tokenFile })
      let lastTrackerWarning = 0
      this.providerSource = {
        select: async (cid, signal) => {
          let peers: Awaited<ReturnType<typeof client.trySelectPeers>>
          const t0 = performance.now()
          const done = (result: string): void => {
            metrics.trackerLookups.inc({ result })
            metrics.trackerLookupDuration.observe({ result }, (performance.now() - t0) / 1000)
          }
          try {
            peers = await client.trySelectPeers(cid.toString(), 20, { requesterPeerId: this.peerId.toString(), signal })
          } catch (err) {
            // refused (a wrong or missing tracker.tokenFile) or a tracker bug: the DHT answers, and the operator hears of it
            done('error')
            if (Date.now() - lastTrackerWarning > 60_000) {
              lastTrackerWarning = Date.now()
              init.log.warn({ err: (err as Error).message, code: (err as { code?: string }).code }, 'tracker lookup refused; using the DHT')
            }
            return undefined
          }
          done(peers == null ? 'unavailable' : peers.length === 0 ? 'empty' : 'peers')
          if (peers == null) return undefined
          return peers.flatMap(p => {
            try {
              return [{ id: peerIdFromString(p.peerId), multiaddrs: p.multiaddrs.map(a => multiaddr(a)) }]
            } catch {
              return []
            }
          })
        }
      }
    }
  }

  static async create (init: PeerInit): Promise<CodioPeer> {
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
          onRefused
        }),
        sessions: swarmSessions({ denied, limits: init.limits, onRefused })
      }
    })
    // an origin super-seeds (BEP 16) unless told otherwise: it is the initial seed of all it holds
    const swarm = { ...DEFAULT_SWARM_POLICY, ...init.swarm, superSeeding: init.swarm?.superSeeding ?? init.role === 'origin' }
    let peer: CodioPeer | undefined
    host = new SwarmHost(store, node.services.sessions, swarm, init.log, {
      peerId: node.peerId,
      // an edge streams to its clients: a super-seed shows it chunks in the order they read them
      streams: (id) => roles?.of(id) === 'edge',
      pex: {
        addresses: async (id) => await listenAddresses(node, id),
        learned: (contentId, peers) => { peer?.joinNamedPeers(contentId, peers) }
      }
    })
    roles = new PeerRoles(node)
    peer = new CodioPeer(init, node, store, metrics, host, privateKey, bans, roles)
    return peer
  }

  get peerId (): PeerId {
    return this.node.peerId
  }

  /** Whether a peer is banned here (provider searches drop those). */
  private readonly banned = (peer: PeerId): boolean => this.bans.isBanned(peer)

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
    this.metricsTimer = setInterval(() => this.updateGauges(), 5000)
    this.metricsTimer.unref()
    this.announceTimer = setInterval(() => { void this.announcePending() }, ANNOUNCE_RETRY_MS)
    this.announceTimer.unref()
    void this.reprovideAll()
    this.startGossip(natsOptions)
  }

  /** Gossip availability and metrics to the tracker over NATS, when configured. */
  private startGossip (natsOptions: GossipPublisherInit['natsOptions']): void {
    const nats = this.init.tracker?.nats
    if (nats == null || nats.length === 0) return
    const log = this.init.log.child({ component: 'gossip' })
    this.gossip = new GossipPublisher({
      nats,
      natsOptions,
      privateKey: this.privateKey,
      roles: [this.init.role],
      multiaddrs: () => this.node.getMultiaddrs().map(a => a.toString()),
      availability: async () => await this.swarm.holdings(),
      metrics: () => {
        let chunksServed = 0
        let bytesServed = 0
        const observations = []
        for (const [peerId, st] of this.exchange.peerStats()) {
          chunksServed += st.chunksSent
          bytesServed += st.bytesSent
          if (st.chunksReceived + st.failures > 0) {
            observations.push({ peerId, bytesPerSecond: this.swarm.rates.down(peerId), failures: st.failures + st.verificationFailures, successes: st.chunksReceived })
          }
        }
        return { uptimeSeconds: (Date.now() - this.startedAt) / 1000, chunksServed, chunksFailed: this.exchange.serveFailures, bytesServed, observations }
      },
      intervalMs: this.init.tracker?.gossipIntervalMs,
      log: { warn: (o, m) => log.warn(o, m), debug: (o, m) => log.debug(o, m) }
    })
    this.gossip.start()
  }

  async stop (): Promise<void> {
    clearInterval(this.metricsTimer)
    clearInterval(this.announceTimer)
    for (const { dl } of this.downloads.values()) dl.fail(new Error('peer stopping'))
    for (const ranges of this.rangeDownloads.values()) for (const dl of ranges) dl.fail(new Error('peer stopping'))
    this.swarm.stop()
    this.dht.stop()
    await this.gossip?.stop()
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

  /**
   * Announce every content this peer holds (after a restart the DHT has forgotten us). With
   * bootstrap peers it first waits, bounded, for a connection so the records reach someone.
   * A background task: it logs its failures and ends when the peer stops.
   */
  private async reprovideAll (): Promise<void> {
    const running = (): boolean => this.node.status === 'started'
    try {
      const deadline = Date.now() + 10_000
      while (running() && !this.isReady() && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      if (!running()) return
      const contents = await this.store.listContents()
      this.metrics.contents.set(contents.length)
      for (const cid of contents) {
        if (!running()) return
        await this.provide(cid)
      }
    } catch (err: any) {
      if (running()) this.init.log.error({ err: err.message }, 're-providing stored content failed')
    }
  }

  /**
   * Announce `contentId` as held here (a DHT provider record on the K closest peers). With an
   * empty routing table there is nobody to hold the record — and a kad-dht node does not name
   * itself when asked for providers — so the announcement waits until the DHT has a peer.
   * Failures are logged, not thrown.
   */
  async provide (contentId: CID): Promise<void> {
    if (this.node.services.dht.routingTable.size === 0) {
      this.unannounced.set(contentId.toString(), contentId)
      return
    }
    try {
      const { holders } = await this.dht.provide(contentId)
      // purged while the announcement ran: take the record back, and do not try again
      if (!(await this.store.has(contentId))) {
        await this.dht.stopProviding(contentId)
        return
      }
      if (holders === 0) {
        this.unannounced.set(contentId.toString(), contentId)
        return
      }
      this.unannounced.delete(contentId.toString())
      this.announced.add(contentId.toString())
      this.init.log.info({ contentId: contentId.toString(), holders }, 'provided')
    } catch (err: any) {
      if (!(await this.store.has(contentId).catch(() => false))) return
      this.unannounced.set(contentId.toString(), contentId)
      this.init.log.warn({ contentId: contentId.toString(), err: err.message }, 'provide failed, will retry')
    }
  }

  /** How many held contents still wait for their first successful DHT announcement. */
  pendingAnnouncements (): number {
    return this.unannounced.size
  }

  private announcing = false

  private async announcePending (): Promise<void> {
    if (this.announcing || this.unannounced.size === 0 || this.node.services.dht.routingTable.size === 0) return
    this.announcing = true
    try {
      for (const cid of [...this.unannounced.values()]) {
        if (this.node.status !== 'started') return
        await this.provide(cid)
      }
    } finally {
      this.announcing = false
    }
  }

  /** Record a whole content as held and announce it. */
  async markComplete (contentId: CID): Promise<void> {
    await this.store.addContent(contentId)
    this.gossip?.changed()
    this.metrics.contents.set((await this.store.listContents()).length)
    // a download announces itself once it holds half the chunks; the same record stands for the whole.
    // Waited for at most PROVIDE_WAIT_MS: a DHT peer that died keeps the put waiting on it for
    // seconds (every publish took 5-10 s after one kill -9), and the announcement goes on anyway
    if (!this.announced.has(contentId.toString())) {
      const announcing = this.provide(contentId)
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([announcing, new Promise<void>(resolve => { timer = setTimeout(resolve, PROVIDE_WAIT_MS) })])
      clearTimeout(timer)
    }
  }

  /**
   * The verified manifest of `contentId`: from the local store, else from the first provider
   * the DHT names that delivers it. Nothing unverified is stored.
   *
   * @throws ContentNotFoundError no provider within the lookup time limit
   * @throws ManifestUnavailableError providers found, none delivered the manifest
   * @throws ManifestDecodeError, UntrustedPublisherError, InvalidSignatureError (from @codio/content)
   */
  async resolve (contentId: CID, signal?: AbortSignal): Promise<ResolvedContent> {
    const key = contentId.toString()
    let pending = this.resolving.get(key)
    if (pending == null) {
      pending = withSpan(peerTracer, 'peer.resolve', { attributes: { 'codio.content.id': key } }, async span => {
        const resolved = await this.doResolve(contentId, signal)
        span.setAttribute('codio.content.local', resolved.local)
        return resolved
      }).finally(() => this.resolving.delete(key))
      this.resolving.set(key, pending)
    }
    return pending
  }

  private async doResolve (contentId: CID, signal?: AbortSignal): Promise<ResolvedContent> {
    const stored = await this.store.get(contentId)
    if (stored != null) {
      const manifest = await this.verifiedManifest(stored)
      return { contentId, manifest, local: await this.store.hasContent(contentId) }
    }
    const search = new ProviderSearch(this.node, this.dht, contentId, this.init.lookupTimeoutMs ?? 10_000, signal, { tracker: this.providerSource, connected: this.connectedPeers, excluded: this.banned })
    const bytes = await withSpan(peerTracer, 'manifest.fetch', {}, async span => {
      const b = await this.fetchManifest(contentId, search, signal)
      span.setAttribute('codio.manifest.bytes', b.byteLength)
      return b
    })
    const manifest = await this.verifiedManifest(bytes)
    await this.store.put(contentId, bytes)
    return { contentId, manifest, local: false, search }
  }

  /** Decode and check the signature of a manifest block (span `manifest.verify`). */
  private async verifiedManifest (bytes: Uint8Array): Promise<Manifest> {
    return await withSpan(peerTracer, 'manifest.verify', {}, async span => {
      const manifest = decodeManifest(bytes)
      await verifyManifest(manifest, this.init.trustedKeys)
      span.setAttributes({ 'codio.content.size': manifest.size, 'codio.content.chunks': manifest.chunks.length })
      return manifest
    })
  }

  /**
   * The manifest block from whichever provider answers first, with hedged requests (Dean &
   * Barroso, "The Tail at Scale", 2013): the next provider is asked as soon as the previous
   * one fails or has not answered within {@link MANIFEST_HEDGE_MS}, so a dead provider (whose
   * dial may hang for seconds) costs a few hundred milliseconds, not a timeout. A late
   * provider, or the last one known failing, also sends the lookup on to its next source
   * ({@link ProviderSearch.more}): the peers a forged tracker answer names cannot keep the
   * connected peers and the DHT from being asked. The answer comes within the lookup time
   * limit, whatever a provider still holds: when the lookup ends, every open request is
   * cancelled.
   */
  private async fetchManifest (contentId: CID, search: ProviderSearch, signal?: AbortSignal): Promise<Uint8Array> {
    const stop = new AbortController()
    const fetchSignal = signal == null ? stop.signal : AbortSignal.any([signal, stop.signal])
    return await new Promise<Uint8Array>((resolve, reject) => {
      const queue: PeerId[] = []
      let pending = 0
      let tried = 0
      let exhausted = false
      let wantMore = false
      let settled = false
      let lastError: Error | undefined
      const settle = (err: Error | undefined, bytes?: Uint8Array): void => {
        if (settled) return
        settled = true
        // the losers are cancelled; the lookup goes on feeding providers to the download
        stop.abort()
        if (err != null) {
          search.abort()
          reject(err)
        } else {
          resolve(bytes!)
        }
      }
      const giveUpIfDone = (): void => {
        // the lookup's time is up: a provider still holding its request (one that accepts and
        // stalls) does not hold the answer past the lookup limit
        if (!exhausted || queue.length > 0) return
        settle(tried === 0
          ? new ContentNotFoundError(`no provider of ${contentId} found within ${this.init.lookupTimeoutMs ?? 10_000} ms`)
          : new ManifestUnavailableError(`${tried} provider(s) of ${contentId} found, none delivered its manifest${pending > 0 ? ` (${pending} still silent)` : ''}: ${lastError?.message ?? 'no answer'}`, { cause: lastError }))
      }
      const launch = (): void => {
        if (settled) return
        const peer = queue.shift()
        if (peer == null) {
          wantMore = true
          // every provider named so far failed or stalls: the lookup goes on to its next source
          search.more()
          giveUpIfDone()
          return
        }
        wantMore = false
        tried++
        pending++
        let hedged = false
        // a provider late to answer (a dial to a made-up address, a holder that stalls): the next
        // one is asked, and the lookup goes on to its next source meanwhile
        const timer = setTimeout(() => { hedged = true; search.more(); launch() }, MANIFEST_HEDGE_MS)
        this.exchange.fetch(peer, contentId, { signal: fetchSignal }).then(
          bytes => { settle(undefined, bytes) },
          (err: Error) => {
            lastError = err
            if (!hedged) launch()
          }
        ).finally(() => {
          clearTimeout(timer)
          pending--
          giveUpIfDone()
        })
      }
      void (async () => {
        for await (const peer of search.providers({ follow: true })) {
          if (settled) return
          queue.push(peer)
          if (pending === 0 || wantMore) launch()
        }
        exhausted = true
        giveUpIfDone()
      })()
    })
  }

  /**
   * The bytes of `ranges` of a resolved content, each range an iterable of buffers in order.
   * Each buffer is a verified chunk or a slice of one, streamed as soon as that chunk is
   * verified: from the store when the content is held, else from a download started by this
   * call. One range gets a range download of just its chunks; several share the content's
   * whole download. Iterate the ranges in order; each reads lazily.
   *
   * @throws (while iterating) ChunkUnavailableError, DownloadAbortedError, StoreIOError, or
   *   BlockMissingError when a held content lacks a chunk
   */
  read (resolved: ResolvedContent, ranges: ByteRange[]): Array<AsyncIterable<Uint8Array>> {
    const { manifest } = resolved
    const download = resolved.local
      ? undefined
      : this.download(resolved, ranges.length === 1 && manifest.size > 0 ? chunksForRange(manifest, ranges[0].start, ranges[0].end) : undefined)
    return ranges.map(range => readRange(manifest, this.store, range, download))
  }

  /**
   * The download of a resolved content's chunks `first..last` (default all). A whole-content
   * download is shared by every reader and, once complete, marks the content held and
   * provides it. A range download fetches only the chunks it needs. When the manifest carries
   * FEC groups, a chunk no provider can supply is rebuilt from its group's parity.
   */
  download (resolved: ResolvedContent, range?: { first: number, last: number }): Download {
    const key = resolved.contentId.toString()
    const whole = range == null || (range.first === 0 && range.last === resolved.manifest.chunks.length - 1)
    const existing = this.downloads.get(key)
    if (existing != null) return existing.dl
    const part = whole ? undefined : range
    const trace = new DownloadTrace(resolved.contentId, resolved.manifest.chunks.length, part)
    return trace.run(() => this.startDownload(resolved, part, trace))
  }

  /** {@link download}, inside its span: `part` is the range of a range download, undefined for a whole one. */
  private startDownload (resolved: ResolvedContent, part: { first: number, last: number } | undefined, trace: DownloadTrace): Download {
    const key = resolved.contentId.toString()
    const manifest = resolved.manifest
    const whole = part == null
    let announced = false
    const dl = new Download({
      chunks: manifest.chunks,
      first: part?.first,
      last: part?.last,
      fetcher: this.exchange,
      sink: this.store,
      size: manifest.size,
      chunkSize: manifest.chunkSize,
      perPeerInFlight: this.init.perPeerInFlight,
      maxInFlight: this.init.maxInFlight,
      strategy: this.init.strategy,
      streamingWindow: this.init.streamingWindow,
      // a reader (the edge's response) streams the chunks it waits for from memory, not the store
      readAhead: Math.max(2, Math.floor(READ_AHEAD_BYTES / manifest.chunkSize)),
      // always through the bucket (free while unlimited), so a limit set later applies
      throttle: async (bytes, signal) => { await this.swarm.download.take(bytes, signal) },
      fec: fecPlan(manifest),
      onChunk: (peer, index, bytes) => {
        if (!announced && whole && dl.chunksDone >= PROVIDE_AT_FRACTION * manifest.chunks.length) {
          // a provider record says "ask me for chunks": made once we hold half of them (the
          // swarm already knows us by peer exchange; see PROVIDE_AT_FRACTION)
          announced = true
          void this.provide(resolved.contentId)
        }
        trace.chunk(peer, index >= manifest.chunks.length)
        const peerRole = this.peerRoles.of(peer)
        this.metrics.chunksReceived.inc({ peer_role: peerRole })
        this.metrics.bytesReceived.inc({ peer_role: peerRole }, bytes)
        this.swarm.rates.recordDown(peer.toString(), bytes)
        if (index >= manifest.chunks.length) {
          this.metrics.parityChunksReceived.inc()
          this.fecTotals.parityChunksFetched++
        } else {
          this.swarm.chunkStored(resolved.contentId, index)
        }
      },
      onRebuilt: (group, chunks) => {
        trace.repaired(group, chunks)
        this.metrics.chunksRebuilt.inc(chunks.length)
        this.metrics.fecGroupsRepaired.inc()
        this.fecTotals.chunksRebuilt += chunks.length
        this.fecTotals.groupsRepaired++
        for (const i of chunks) this.swarm.chunkStored(resolved.contentId, i)
        this.init.log.info({ contentId: key, group, chunks }, 'rebuilt chunks from FEC parity')
      }
    })
    const search = resolved.search ?? new ProviderSearch(this.node, this.dht, resolved.contentId, this.init.lookupTimeoutMs ?? 10_000, undefined, { tracker: this.providerSource, connected: this.connectedPeers, excluded: this.banned })
    if (whole) {
      // a whole download joins the content's swarm: sessions with every provider (bitfields,
      // have, chokes), and a provider record so that peers fetching it at the same time find
      // us and trade chunks (BEP 3 peers announce themselves as they start)
      const attached = this.swarm.attach(resolved.contentId, manifest.chunks, dl)
      void attached.then(() => this.gossip?.changed())
      void (async () => {
        await attached
        // peers that start with us announce themselves within a second or so: look for them
        // while the first lookup (which may walk for seconds under load) is still going
        this.rediscover(resolved.contentId, dl).catch(err => dl.fail(err))
        const connecting: Array<Promise<void>> = []
        for await (const p of search.providers()) connecting.push(this.joinSwarm(p, resolved.contentId, dl))
        await Promise.allSettled(connecting)
        dl.noMorePeers()
      })().catch(err => dl.fail(err))
      const complete = dl.done.then(async () => await withSpan(peerTracer, 'cache.write', { attributes: { 'codio.content.id': key } }, async () => { await this.markComplete(resolved.contentId) }))
      trace.endWith(complete)
      this.downloads.set(key, { dl, complete })
      complete
        .catch((err: Error) => this.init.log.warn({ contentId: key, err: err.message }, 'download failed'))
        // a purge removes the entry itself, and a new download may take the key meanwhile
        .finally(() => { if (this.downloads.get(key)?.dl === dl) this.downloads.delete(key) })
      void attached.then(async () => await dl.start()).catch(err => dl.fail(err))
    } else {
      let ranges = this.rangeDownloads.get(key)
      if (ranges == null) this.rangeDownloads.set(key, ranges = new Set())
      ranges.add(dl)
      const finished = (): void => {
        ranges.delete(dl)
        if (ranges.size === 0 && this.rangeDownloads.get(key) === ranges) this.rangeDownloads.delete(key)
      }
      dl.done.then(finished, finished)
      trace.endWith(dl.done)
      void (async () => {
        for await (const p of search.providers()) dl.addPeer(p)
        dl.noMorePeers()
      })()
      void dl.start().catch(err => dl.fail(err))
    }
    return dl
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
      stopDownloads: () => {
        const err = new DownloadAbortedError(`content ${key} was purged`)
        const whole = this.downloads.get(key)
        this.downloads.delete(key)
        whole?.dl.fail(err)
        for (const dl of this.rangeDownloads.get(key) ?? []) dl.fail(err)
        this.rangeDownloads.delete(key)
      },
      leaveSwarm: cid => { this.swarm.forget(cid) },
      stopProviding: async cid => {
        this.unannounced.delete(key)
        this.announced.delete(key)
        await this.dht.stopProviding(cid)
      },
      gossipNow: this.gossip == null ? undefined : async () => await this.gossip?.publishNow()
    }, contentId)
    this.metrics.contents.set((await this.store.listContents()).length)
    if (result.held) this.init.log.info({ contentId: key, ...result }, 'purged')
    return result
  }

  /**
   * While `dl` runs, look the content's providers up again, from {@link REDISCOVER_MS} on with
   * exponential backoff ({@link REDISCOVER_PEX_MS} with peer exchange): peers that started
   * fetching it after us announce themselves once they hold a chunk, and trading chunks
   * with them is what takes load off the origin (BitTorrent clients re-announce to their
   * tracker for the same reason). New ones get a session; known ones are skipped.
   */
  private async rediscover (contentId: CID, dl: Download): Promise<void> {
    let finished = false
    dl.done.then(() => { finished = true }, () => { finished = true })
    // 1 s, 2 s, 4 s … at most 10 s (10 s, 20 s … 60 s with peer exchange): late joiners are
    // found quickly, and a long download does not walk the DHT every second
    const pex = this.swarm.policy.peerExchange
    const longest = pex ? REDISCOVER_MAX_PEX_MS : REDISCOVER_MAX_MS
    let wait = pex ? REDISCOVER_PEX_MS : REDISCOVER_MS
    while (!finished && this.node.status === 'started') {
      // ±20 %: peers that started together do not all walk the DHT in the same instant
      await new Promise(resolve => setTimeout(resolve, wait * (0.8 + 0.4 * Math.random())).unref())
      wait = Math.min(wait * 2, longest)
      if (finished) return
      if (pex && dl.progress().peers >= REDISCOVER_ENOUGH_PEERS) continue
      // the DHT (or tracker) only: the connected peers were asked at the start, and peer
      // exchange names every swarm peer since
      const search = new ProviderSearch(this.node, this.dht, contentId, REDISCOVER_MS, undefined, { tracker: this.providerSource, excluded: this.banned })
      for await (const p of search.providers()) {
        if (finished) break
        void this.joinSwarm(p, contentId, dl)
      }
    }
  }

  /**
   * Open a swarm session with provider `peer` for `dl`, and keep the connection to it alive
   * (redialled with backoff if it drops, libs/p2p) until the download ends.
   */
  private async joinSwarm (peer: PeerId, contentId: CID, dl: Download): Promise<void> {
    const reason = `download:${contentId.toString()}`
    let held = this.keptAlive.get(dl)
    if (held == null) {
      const peers = held = new Map<string, PeerId>()
      this.keptAlive.set(dl, held)
      const release = (): void => {
        for (const p of peers.values()) void releaseKeepAlive(this.node, p, reason).catch(() => {})
      }
      dl.done.then(release, release)
    }
    // rediscovery names the same providers again and again: hold each one once
    if (!peer.equals(this.peerId) && !held.has(peer.toString())) {
      held.set(peer.toString(), peer)
      void keepAlive(this.node, peer, reason).catch(() => {})
    }
    await this.swarm.connect(peer, contentId)
  }

  /**
   * Peers a swarm peer named by peer exchange (BEP 11) while we fetch `contentId`: their
   * addresses go to the peer store and each gets a swarm session, as a provider found by a
   * lookup would.
   */
  joinNamedPeers (contentId: CID, peers: Array<{ id: PeerId, multiaddrs: Multiaddr[] }>): void {
    const dl = this.downloads.get(contentId.toString())?.dl
    if (dl == null) return
    const tried = this.keptAlive.get(dl)
    for (const p of peers) {
      // a peer named again (by another session, or after a failed dial) is not dialled again
      // here: the keep-alive redials it, and a lookup that finds it opens its session
      if (p.id.equals(this.peerId) || tried?.has(p.id.toString()) === true || this.bans.isBanned(p.id)) continue
      this.metrics.pexPeers.inc()
      void (async () => {
        // a connected peer's addresses are known (identify); a merge costs a peer-store write
        if (p.multiaddrs.length > 0 && this.node.getConnections(p.id).length === 0) await this.node.peerStore.merge(p.id, { multiaddrs: p.multiaddrs }).catch(() => {})
        await this.joinSwarm(p.id, contentId, dl)
      })().catch(() => {})
    }
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
      this.gossip?.setIntervalMs(change.gossipIntervalMs)
    }
    const running = [...[...this.downloads.values()].map(d => d.dl), ...[...this.rangeDownloads.values()].flatMap(set => [...set])]
    for (const dl of running) dl.reconfigure(fetch)
    if (change.perPeerInFlight !== undefined) this.init.perPeerInFlight = change.perPeerInFlight
    if (change.maxInFlight !== undefined) this.init.maxInFlight = change.maxInFlight
    if (change.strategy !== undefined) this.init.strategy = change.strategy
    if (change.streamingWindow !== undefined) this.init.streamingWindow = change.streamingWindow
  }

  /** Fetch a whole content into the store and provide it (the admin Prefetch call). */
  async prefetch (contentId: CID, signal?: AbortSignal): Promise<{ manifest: Manifest, chunksFetched: number, seconds: number }> {
    const t0 = performance.now()
    const resolved = await this.resolve(contentId, signal)
    if (resolved.local) return { manifest: resolved.manifest, chunksFetched: 0, seconds: (performance.now() - t0) / 1000 }
    const dl = this.download(resolved)
    const before = dl.progress().chunksDone
    signal?.addEventListener('abort', () => dl.fail(new Error('prefetch aborted')), { once: true })
    // the shared download records and provides the content once; wait for exactly that
    await (this.downloads.get(contentId.toString())?.complete ?? dl.done)
    return { manifest: resolved.manifest, chunksFetched: dl.progress().chunksDone - before, seconds: (performance.now() - t0) / 1000 }
  }
}
