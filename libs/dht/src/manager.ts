import { setMaxListeners } from 'node:events'
import { isPeerId } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import { base58btc } from 'multiformats/bases/base58'
import {
  DEFAULT_QUERY_TIMEOUT_MS, DEFAULT_REFRESH_INTERVAL_MS, LIVENESS_CHECK_CONCURRENCY, LIVENESS_CHECK_TIMEOUT_MS, LIVENESS_SILENCE_INTERVALS,
  MAX_QUERY_TIMEOUT_MS, MIN_REFRESH_INTERVAL_MS, PROVIDE_PASSES, REFRESH_JITTER, TOP_UP_CONCURRENCY
} from './constants.js'
import {
  DhtNotRunningError, DhtQueryTimeoutError, InvalidDhtOptionsError, PeerNotFoundError, type DhtOperation
} from './errors.js'
import {
  addLocalProvider, addToRoutingTable, countProviderRecords, dhtProtocol, localProviders, pingRoutingTablePeer,
  removeFromRoutingTable, routingTableClosest, routingTableEntries, routingTablePeers, routingTableSize, type RoutingTableEntry
} from './internals.js'
import { topUpProvide } from './top-up.js'
import { LookupTracer, type LookupTrace, type ProviderInfo } from './trace.js'
import { kadId, sortByDistance } from './xor.js'
import type { Libp2p, Logger, PeerId } from '@libp2p/interface'
import type { KadDHT, QueryEvent } from '@libp2p/kad-dht'

export interface DhtManagerInit {
  /** Per-query time limit, ms; default 60_000, at most 60_000 (larger values throw InvalidDhtOptionsError). */
  queryTimeoutMs?: number
  /**
   * How often the manager refreshes the routing table, ms (each round waits this ± 10 %, so
   * nodes started together do not refresh in step): a liveness check of table peers not heard
   * from in the last three rounds (LIVENESS_SILENCE_INTERVALS), then a lookup of this node's own ID (fills the buckets near us)
   * and one of a random key (a random walk that reaches far buckets).
   * Default 600_000 (10 min), at least 100.
   */
  refreshIntervalMs?: number
  /**
   * Called when a query of {@link DhtManager.provide}, `findProviders`, `findPeer` or
   * `closestPeers` ends: its operation, how long it ran (ms; a `findProviders` stream ends when
   * its lookup does, its `limit` is reached, its timeout fires or its reader stops) and how:
   * `ok`, `timeout` (`queryTimeoutMs` expired) or `error` (anything thrown, an abort included).
   * For metrics; it must not throw.
   */
  onQueryDone?: (operation: DhtOperation, durationMs: number, outcome: DhtQueryOutcome) => void
}

/** How a DHT query ended (see {@link DhtManagerInit.onQueryDone}). */
export type DhtQueryOutcome = 'ok' | 'timeout' | 'error'

/**
 * The parts of a libp2p node the manager uses: a `dht` service (kad-dht's `KadDHT`, typically a
 * `SingleKadDHT` from `@codio/p2p`'s `createP2PNode`), the node's id, status and connections.
 */
export type DhtNode = Pick<Libp2p<{ dht: KadDHT }>, 'peerId' | 'services' | 'status' | 'getConnections' | 'getMultiaddrs' | 'logger' | 'peerStore'>

export interface DhtQueryOptions {
  /** Aborts the query; combined with the manager's `queryTimeoutMs`. */
  signal?: AbortSignal
  /** Receives every raw kad-dht query event (DIAL_PEER, SEND_QUERY, PEER_RESPONSE, PROVIDER, FINAL_PEER, …). */
  onQueryEvent?: (event: QueryEvent) => void
}

export interface FindProvidersOptions extends DhtQueryOptions {
  /** Stop after this many distinct providers (integer ≥ 1). Default: no limit (kad-dht stops at K). */
  limit?: number
}

export interface ClosestPeersOptions extends DhtQueryOptions {
  /** How many peers to return (integer ≥ 1). Default K (the DHT's `k`, 20 on Codio). */
  count?: number
}

export interface DhtStats {
  /** Routing-table peers this node is connected to (all connected peers if the table is not readable). */
  peers: number
  /** `dht.routingTable.size`; 0 when the DHT has no single routing table. */
  routingTableSize: number
  /** CIDs this node provides through the manager. */
  providing: number
  /**
   * Provider records in this node's kad-dht store — those others asked us to keep plus our own —
   * as last counted: in the background shortly after provide/stopProviding (at most once a second),
   * at each refresh, and on {@link DhtManager.countProviderRecords}.
   * -1 before the first count, or when the DHT implementation does not expose its store.
   */
  providerRecords: number
  /** Queries running through this manager now. */
  pendingQueries: number
  /** Queries started through this manager since construction (refresh lookups are not counted here). */
  queries: { provide: number, findProviders: number, findPeer: number, closestPeers: number }
  /** Completed refresh rounds. */
  refreshes: number
  /** FIND_NODE lookups run by refreshes (self lookups and random walks; a timer round skips some, see RefreshResult.lookups). */
  refreshLookups: number
  /** Refresh rounds that failed (logged, then the timer carries on). */
  refreshErrors: number
  /** Routing-table peers dropped as unreachable (two liveness checks failed in a row). */
  evicted: number
  /** Provides that made a second pass because the first did not reach every closest peer it found (see PROVIDE_PASSES). */
  provideRetries: number
  /** ADD_PROVIDERs sent past the lookup's closest peers, to the next closest, when a provide had reached fewer than K (see topUpProvide). */
  provideTopUps: number
}

export interface RefreshResult {
  /** Distinct peers returned by the self and random-walk lookups. */
  peersFound: number
  /** Routing-table size after the refresh. */
  routingTableSize: number
  /** Routing-table peers pinged: struck, suspect, or nothing heard from them for LIVENESS_SILENCE_INTERVALS rounds. */
  checked: number
  /** Of those, peers found unreachable and dropped from the routing table. */
  evicted: number
  /** Connected DHT peers added to a table that held fewer than K (see {@link DhtManager.refresh}). */
  adopted: number
  /** FIND_NODE lookups the round ran: 2 (self and random walk) unless a timer round skipped some (see {@link DhtManager.refresh}). */
  lookups: number
}

const RECORD_COUNT_SPACING_MS = 1000

function checkMs (name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidDhtOptionsError(`${name} must be a number of ms in [${min}, ${max}], got ${String(value)}`)
  }
  return value
}

function checkPositiveInt (name: string, value: number | undefined): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 1)) {
    throw new InvalidDhtOptionsError(`${name} must be an integer ≥ 1, got ${String(value)}`)
  }
}

function checkQueryOptions (opts: DhtQueryOptions | undefined): void {
  if (opts == null) return
  if (typeof opts !== 'object') throw new InvalidDhtOptionsError('query options must be an object')
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) {
    throw new InvalidDhtOptionsError('signal must be an AbortSignal')
  }
  if (opts.onQueryEvent !== undefined && typeof opts.onQueryEvent !== 'function') {
    throw new InvalidDhtOptionsError('onQueryEvent must be a function')
  }
}

function toCid (cid: CID): CID {
  const parsed = CID.asCID(cid)
  if (parsed == null) throw new InvalidDhtOptionsError(`expected a CID, got ${String(cid)}`)
  return parsed
}

function uniqueAddrs (addrs: ProviderInfo['multiaddrs']): ProviderInfo['multiaddrs'] {
  const seen = new Set<string>()
  return addrs.filter(a => {
    const s = a.toString()
    if (seen.has(s)) return false
    seen.add(s)
    return true
  })
}

/** Provider records are keyed by multihash, so CIDv0/v1 of the same bytes are one entry. */
function cidKey (cid: CID): string {
  return base58btc.encode(cid.multihash.bytes)
}

/**
 * The one DHT front every Codio service uses: provide, find providers, find peers, closest peers,
 * all bounded by a per-query time limit and counted, plus a periodic routing-table refresh.
 *
 * It drives the node's kad-dht service (libp2p kad-dht spec; Kademlia, Maymounkov & Mazières
 * 2002) directly, so callers can watch the query events. Record lifetimes come from the DHT's
 * own config (on Codio: provider records valid 24 h, republished every 12 h by kad-dht's
 * reprovider).
 */
export class DhtManager {
  readonly queryTimeoutMs: number
  readonly refreshIntervalMs: number
  private readonly node: DhtNode
  private readonly dht: KadDHT
  private readonly log: Logger
  /** The CIDs provided through the manager, by {@link cidKey}. */
  private readonly provided = new Map<string, CID>()
  private readonly counts = { provide: 0, findProviders: 0, findPeer: 0, closestPeers: 0 }
  private provideRetries = 0
  private provideTopUps = 0
  private pending = 0
  private refreshes = 0
  private refreshLookups = 0
  private refreshErrors = 0
  private evicted = 0
  /** Last time each peer answered an RPC of ours or a ping, ms since the epoch. */
  private readonly heardFrom = new Map<string, number>()
  /** Peers being pinged after a failed RPC. */
  private readonly checking = new Set<string>()
  /** Table peers whose last liveness check failed. */
  private readonly strikes = new Set<string>()
  /** Table peers an RPC failed against (no connection open) that no ping has checked yet. */
  private readonly suspects = new Set<string>()
  /** When a lookup of a caller's (not a refresh's: FIND_NODE, GET_PROVIDERS) last got an answer, ms since the epoch. */
  private lastAnsweredAt = 0
  /** When a refresh last looked up this node's own ID, ms since the epoch. */
  private lastSelfLookupAt = 0
  private providerRecords = -1
  private counting = false
  private countAgain = false
  private started = false
  private timer?: ReturnType<typeof setTimeout>
  private refreshController?: AbortController
  private readonly onQueryDone?: DhtManagerInit['onQueryDone']

  /**
   * @throws InvalidDhtOptionsError when the node has no `dht` service or an option is out of range
   */
  constructor (node: DhtNode, init: DhtManagerInit = {}) {
    if (node?.services?.dht == null || typeof node.services.dht.findProviders !== 'function') {
      throw new InvalidDhtOptionsError('node has no kad-dht service at services.dht')
    }
    if (init == null || typeof init !== 'object') throw new InvalidDhtOptionsError('init must be an object')
    this.queryTimeoutMs = checkMs('queryTimeoutMs', init.queryTimeoutMs, DEFAULT_QUERY_TIMEOUT_MS, 1, MAX_QUERY_TIMEOUT_MS)
    this.refreshIntervalMs = checkMs('refreshIntervalMs', init.refreshIntervalMs, DEFAULT_REFRESH_INTERVAL_MS, MIN_REFRESH_INTERVAL_MS, 2 ** 31 - 1)
    this.node = node
    this.dht = node.services.dht
    this.log = node.logger.forComponent('codio:dht')
    if (init.onQueryDone != null && typeof init.onQueryDone !== 'function') throw new InvalidDhtOptionsError('onQueryDone must be a function')
    this.onQueryDone = init.onQueryDone
  }

  /** Starts the refresh timer (unref'd, so it never keeps the process alive). Idempotent. */
  start (): void {
    if (this.started) return
    this.started = true
    this.schedule()
  }

  /** Stops the refresh timer and aborts a refresh in flight. Queries started by callers run on. */
  stop (): void {
    this.started = false
    clearTimeout(this.timer)
    this.timer = undefined
    this.refreshController?.abort()
    this.refreshController = undefined
  }

  /**
   * Announces this node as a provider of `cid`: writes its own record locally, finds the K peers
   * closest to the CID's multihash, and sends each an ADD_PROVIDER (libp2p kad-dht spec,
   * "Content provider advertisement"). kad-dht republishes the record until {@link stopProviding}.
   *
   * With an empty routing table no query runs: the record is kept locally and `holders` is 0.
   * Each call is one announcement: announcing again a record that reached nobody (0 holders, a
   * timeout) is the caller's decision — it knows whether the content is still wanted — and on
   * Codio the peer's announcer does it; kad-dht republishes the local record before it expires.
   *
   * When a pass did not reach every closest peer it found (a send failed), or found fewer than K
   * while the routing table holds K or more, the lookup and the sends run once more
   * ({@link PROVIDE_PASSES}): a peer at its connection limit or a stream cut mid-write then costs
   * a retry, not a missing holder. When the passes still reached fewer than K while the table
   * holds K or more, the next closest peers the lookups met get the record (`topUpProvide`:
   * kad-dht's walk stops at the live ones among the K closest its tables name, dead or not).
   *
   * @returns `holders`: distinct peers the ADD_PROVIDER message was delivered to, over all passes
   * @throws InvalidDhtOptionsError for a non-CID or bad options; DhtNotRunningError when the node
   *   is not started; DhtQueryTimeoutError when `queryTimeoutMs` expires (the CID stays provided)
   */
  async provide (cid: CID, opts: DhtQueryOptions = {}): Promise<{ holders: number }> {
    const parsed = toCid(cid)
    checkQueryOptions(opts)
    return this.run('provide', opts, async (signal) => this.announce(parsed, signal, opts.onQueryEvent))
  }

  /**
   * Streams the providers of `cid`, deduplicated by peer id: first this node's own store, then
   * the peers returned by GET_PROVIDERS along the lookup. This node is named only while it
   * provides `cid` through the manager (records of it that others still hold after
   * {@link stopProviding} are skipped). The stream ends when the query ends
   * (kad-dht stops after K providers), after `limit` providers, or when `queryTimeoutMs` expires —
   * a timeout is not an error here, the stream simply ends after what was found.
   *
   * @throws InvalidDhtOptionsError (at call time) for a non-CID or bad options; during iteration
   *   DhtNotRunningError, or the abort reason when the caller's `signal` aborts
   */
  findProviders (cid: CID, opts: FindProvidersOptions = {}): AsyncIterable<ProviderInfo> {
    const parsed = toCid(cid)
    checkQueryOptions(opts)
    checkPositiveInt('limit', opts.limit)
    return this.providerStream(parsed, opts, { timedOut: false })
  }

  /**
   * Runs {@link findProviders} to its end and reports what the lookup cost: latency to the first
   * provider, referral depth (hops) of the peer that returned it, peers contacted. See
   * {@link LookupTrace} for the exact definitions. Made for benchmarks; services use findProviders.
   */
  async findProvidersTraced (cid: CID, opts: FindProvidersOptions = {}): Promise<LookupTrace> {
    const parsed = toCid(cid)
    checkQueryOptions(opts)
    checkPositiveInt('limit', opts.limit)
    const t0 = performance.now()
    const starting = routingTableClosest(this.dht, await kadId(parsed.multihash.bytes), this.dht.k) ?? []
    const tracer = new LookupTracer(this.node.peerId, starting, t0)
    const state = { timedOut: false }
    const providers: ProviderInfo[] = []
    const onQueryEvent = (event: QueryEvent): void => {
      tracer.onEvent(event)
      opts.onQueryEvent?.(event)
    }
    for await (const p of this.providerStream(parsed, { ...opts, onQueryEvent }, state)) providers.push(p)
    return tracer.finish(providers, state.timedOut)
  }

  /**
   * Stops announcing `cid`: removes this node's own record from its provider store, which is what
   * kad-dht's reprovider republishes from (`cancelReprovide`), and forgets the CID. Records already
   * held by other peers expire on their own (24 h on Codio).
   */
  async stopProviding (cid: CID): Promise<void> {
    const parsed = toCid(cid)
    await this.dht.cancelReprovide(parsed)
    this.provided.delete(cidKey(parsed))
    this.requestRecordCount()
  }

  /**
   * Drops `peer` from the routing table (a banned peer: queries should not start from it, nor
   * name it to others). It comes back only if it is seen again speaking the DHT, which a ban
   * prevents. A no-op when absent or when the DHT does not expose its table.
   */
  async forgetPeer (peerId: PeerId): Promise<void> {
    if (!isPeerId(peerId)) throw new InvalidDhtOptionsError(`expected a PeerId, got ${String(peerId)}`)
    await removeFromRoutingTable(this.dht, peerId)
  }

  /**
   * Finds a peer's addresses: from this node's peer store when known, otherwise by an iterative
   * FIND_NODE lookup of its ID (Kademlia §2.3) that ends when a peer returns its record.
   *
   * @throws PeerNotFoundError when the lookup ends without it; DhtQueryTimeoutError when
   *   `queryTimeoutMs` expires first; InvalidDhtOptionsError for a non-PeerId
   */
  async findPeer (peerId: PeerId, opts: DhtQueryOptions = {}): Promise<ProviderInfo> {
    if (!isPeerId(peerId)) throw new InvalidDhtOptionsError(`expected a PeerId, got ${String(peerId)}`)
    checkQueryOptions(opts)
    return this.run('findPeer', opts, async (signal) => {
      try {
        for await (const event of this.dht.findPeer(peerId, { signal })) {
          this.observe(event)
          opts.onQueryEvent?.(event)
          if (event.name === 'FINAL_PEER' && event.peer.id.equals(peerId)) {
            return { id: event.peer.id, multiaddrs: uniqueAddrs(event.peer.multiaddrs) }
          }
        }
      } catch (err: any) {
        if (err?.name !== 'NotFoundError') throw err
      }
      throw new PeerNotFoundError(`peer ${peerId.toString()} was not found in the DHT`)
    })
  }

  /**
   * The peers closest to `key` found by a network FIND_NODE lookup (Kademlia "node lookup", §2.3),
   * sorted by XOR distance of SHA-256(key) to SHA-256(peer multihash) ascending — kad-dht's own key
   * conversion. This node is never included. Only peers that answered are returned.
   *
   * @param key - raw key bytes (hashed with SHA-256 to a Kademlia ID, as kad-dht does)
   * @throws InvalidDhtOptionsError for a non-Uint8Array key or bad count; DhtQueryTimeoutError
   */
  async closestPeers (key: Uint8Array, opts: ClosestPeersOptions = {}): Promise<PeerId[]> {
    if (!(key instanceof Uint8Array)) throw new InvalidDhtOptionsError('key must be a Uint8Array')
    checkQueryOptions(opts)
    checkPositiveInt('count', opts.count)
    const count = opts.count ?? this.dht.k
    return this.run('closestPeers', opts, async (signal) => {
      const peers = new Map<string, PeerId>()
      for await (const event of this.dht.getClosestPeers(key, { signal })) {
        this.observe(event)
        opts.onQueryEvent?.(event)
        if (event.name === 'FINAL_PEER' && !event.peer.id.equals(this.node.peerId)) {
          peers.set(event.peer.id.toString(), event.peer.id)
        }
      }
      return (await sortByDistance(key, [...peers.values()])).slice(0, count)
    })
  }

  /** CIDs this node provides through the manager. */
  providing (): CID[] {
    return [...this.provided.values()]
  }

  /** The peers in this node's routing table (empty when the DHT does not expose it). */
  routingTablePeers (): PeerId[] {
    return routingTablePeers(this.dht) ?? []
  }

  /**
   * The providers of `cid` in this node's own kad-dht store, without any network query: itself if
   * it provides `cid`, and every peer whose ADD_PROVIDER it accepted.
   *
   * @throws InvalidDhtOptionsError for a non-CID or when the DHT does not expose its store
   */
  async localProviders (cid: CID): Promise<PeerId[]> {
    const found = await localProviders(this.dht, toCid(cid))
    if (found == null) throw new InvalidDhtOptionsError('this DHT implementation does not expose its provider store')
    return found
  }

  /** Counts the provider records in this node's store now (see {@link DhtStats.providerRecords}). */
  async countProviderRecords (): Promise<number> {
    this.providerRecords = (await countProviderRecords(this.dht)) ?? -1
    return this.providerRecords
  }

  stats (): DhtStats {
    const table = routingTablePeers(this.dht)
    const peers = table != null
      ? table.filter(p => this.node.getConnections(p).length > 0).length
      : new Set(this.node.getConnections().map(c => c.remotePeer.toString())).size
    return {
      peers,
      routingTableSize: routingTableSize(this.dht) ?? 0,
      providing: this.provided.size,
      providerRecords: this.providerRecords,
      pendingQueries: this.pending,
      queries: { ...this.counts },
      refreshes: this.refreshes,
      refreshLookups: this.refreshLookups,
      refreshErrors: this.refreshErrors,
      evicted: this.evicted,
      provideRetries: this.provideRetries,
      provideTopUps: this.provideTopUps
    }
  }

  /**
   * One refresh round, as the timer runs it:
   * 1. a liveness check: every routing-table peer that is not connected and that nothing was heard
   *    from within `LIVENESS_SILENCE_INTERVALS` × `refreshIntervalMs` (no answer to an RPC of ours,
   *    no ping; kad-dht itself never drops a contact that stops answering unless its bucket is
   *    full), and every suspect (an RPC failed against it while no ping slot was free), is pinged —
   *    struck peers first, then suspects, then the longest silent — and dropped from the table when
   *    it failed two checks in a row (go-libp2p-kad-dht's routing-table refresh does the same);
   * 2. a table holding fewer than K peers is offered the connected peers that speak the DHT
   *    protocol (kad-dht offers a peer only once, at identify);
   * 3. a lookup of this node's own ID and one of a random 32-byte key (both FIND_NODE; responders
   *    join the routing table, refilling what was dropped; a timer round skips what recent
   *    traffic did already, see `refreshRound`).
   * It announces nothing: a provide that reached nobody is tried again by its caller (see {@link provide}).
   * A lookup cut by `queryTimeoutMs` keeps what it learned.
   */
  async refresh (opts: { signal?: AbortSignal } = {}): Promise<RefreshResult> {
    return this.refreshRound(opts, false)
  }

  /**
   * {@link refresh}; a timer round (`scheduled`) skips what the network's own traffic did
   * already, as go-libp2p-kad-dht skips buckets queried within the interval: the random walk when
   * a lookup got an answer within `refreshIntervalMs`, and the self lookup unless the table holds
   * fewer than K, this round dropped a peer, or none ran for LIVENESS_SILENCE_INTERVALS rounds.
   * On a node busy with lookups that halves a round's cost or better (two lookups per node per
   * round kept bench:dht's 110 nodes saturated during churn).
   */
  private async refreshRound (opts: { signal?: AbortSignal }, scheduled: boolean): Promise<RefreshResult> {
    checkQueryOptions(opts)
    this.assertRunning()
    const { checked, evicted } = await this.checkLiveness(opts.signal)
    const adopted = await this.adoptConnected(opts.signal)
    const now = Date.now()
    const keys: Uint8Array[] = []
    if (!scheduled || (routingTableSize(this.dht) ?? 0) < this.dht.k || evicted > 0 ||
      now - this.lastSelfLookupAt >= LIVENESS_SILENCE_INTERVALS * this.refreshIntervalMs) {
      keys.push(this.node.peerId.toMultihash().bytes)
      this.lastSelfLookupAt = now
    }
    if (!scheduled || now - this.lastAnsweredAt >= this.refreshIntervalMs) keys.push(crypto.getRandomValues(new Uint8Array(32)))
    const found = new Set<string>()
    for (const key of keys) {
      const { signal, timedOut } = this.querySignal(opts.signal)
      try {
        for await (const event of this.dht.getClosestPeers(key, { signal })) {
          this.observe(event, false)
          if (event.name === 'FINAL_PEER') found.add(event.peer.id.toString())
        }
      } catch (err) {
        if (!timedOut()) throw err
      }
    }
    await this.countProviderRecords()
    this.refreshes++
    this.refreshLookups += keys.length
    return { peersFound: found.size, routingTableSize: routingTableSize(this.dht) ?? 0, checked, evicted, adopted, lookups: keys.length }
  }

  /**
   * A table below K gets the connected peers that speak the DHT protocol and are not in it yet.
   * kad-dht offers a peer to its table once, when identify shows the protocol; if that ping
   * timed out (a busy node, a connection pruned meanwhile) the peer is never offered again, and a
   * node whose only contact was its bootstrap peer keeps an empty table and cannot look anything up.
   */
  private async adoptConnected (user?: AbortSignal): Promise<number> {
    const protocol = dhtProtocol(this.dht)
    const entries = routingTableEntries(this.dht)
    if (protocol == null || entries == null || entries.length >= this.dht.k) return 0
    const inTable = new Set(entries.map(e => e.peerId.toString()))
    const candidates = new Map<string, PeerId>()
    for (const c of this.node.getConnections()) {
      const key = c.remotePeer.toString()
      if (!inTable.has(key) && !candidates.has(key) && !c.remotePeer.equals(this.node.peerId)) candidates.set(key, c.remotePeer)
    }
    // one ping round for all of them (kad-dht pings new contacts 20 at a time), bounded as a whole
    const { signal: query } = this.querySignal(user)
    const signal = AbortSignal.any([query, AbortSignal.timeout(LIVENESS_CHECK_TIMEOUT_MS)])
    setMaxListeners(Infinity, signal)
    const added = await Promise.all([...candidates.values()].map(async peer => {
      try {
        const { protocols } = await this.node.peerStore.get(peer, { signal })
        if (!protocols.includes(protocol)) return false
        await addToRoutingTable(this.dht, peer, { signal })
        return routingTableEntries(this.dht)?.some(e => e.peerId.equals(peer)) === true
      } catch {
        return false
      }
    }))
    return added.filter(Boolean).length
  }

  /** The liveness check of {@link refresh}: pings stale, unconnected table peers and drops those that do not answer. */
  private async checkLiveness (user?: AbortSignal): Promise<{ checked: number, evicted: number }> {
    const entries = routingTableEntries(this.dht)
    if (entries == null) return { checked: 0, evicted: 0 }
    // only table peers need a record of when they last answered
    const inTable = new Set(entries.map(e => e.peerId.toString()))
    for (const byPeer of [this.heardFrom, this.strikes, this.suspects]) {
      for (const key of byPeer.keys()) if (!inTable.has(key)) byPeer.delete(key)
    }
    const since = Date.now() - LIVENESS_SILENCE_INTERVALS * this.refreshIntervalMs
    const heard = (e: RoutingTableEntry): number => Math.max(e.lastPing, this.heardFrom.get(e.peerId.toString()) ?? 0)
    // peers with a strike first (a second failure drops them), then suspects (an RPC failed), then
    // the longest silent: a round cut by the query time limit still reaches the peers most likely gone
    const rank = (e: RoutingTableEntry): number => {
      const key = e.peerId.toString()
      return this.strikes.has(key) ? 0 : this.suspects.has(key) ? 1 : 2
    }
    const stale = entries.filter(e => this.node.getConnections(e.peerId).length === 0 && (heard(e) < since || rank(e) < 2))
      .sort((a, b) => rank(a) - rank(b) || heard(a) - heard(b))
    const { signal } = this.querySignal(user)
    let evicted = 0
    let next = 0
    await Promise.all(Array.from({ length: Math.min(LIVENESS_CHECK_CONCURRENCY, stale.length) }, async () => {
      while (next < stale.length && !signal.aborted) {
        const e = stale[next++]
        if (await this.check(e.peerId, e.kadId, signal) === 'dropped') evicted++
      }
    }))
    return { checked: stale.length, evicted }
  }

  /**
   * Pings a table peer (at most {@link LIVENESS_CHECK_TIMEOUT_MS}) and drops it when it failed
   * two checks in a row (the second at the next refresh or failed RPC): one failure is a
   * strike, not a verdict — on a busy node a live peer's dial or handshake can time out, and
   * the bench showed live peers dropped by a one-failure rule.
   */
  private async check (peer: PeerId, peerKadId: Uint8Array, signal?: AbortSignal): Promise<'alive' | 'strike' | 'dropped' | 'aborted'> {
    const key = peer.toString()
    this.suspects.delete(key)
    const limit = AbortSignal.timeout(LIVENESS_CHECK_TIMEOUT_MS)
    const ok = await pingRoutingTablePeer(this.dht, peer, peerKadId, { signal: signal == null ? limit : AbortSignal.any([signal, limit]) })
      .catch(() => false)
    if (ok !== false) {
      this.heardFrom.set(key, Date.now())
      this.strikes.delete(key)
      return 'alive'
    }
    if (signal?.aborted === true || this.node.status !== 'started') return 'aborted'
    if (!this.strikes.has(key)) {
      this.strikes.add(key)
      return 'strike'
    }
    await this.drop(peer)
    return 'dropped'
  }

  private async drop (peer: PeerId): Promise<void> {
    this.heardFrom.delete(peer.toString())
    this.strikes.delete(peer.toString())
    this.suspects.delete(peer.toString())
    if (await removeFromRoutingTable(this.dht, peer).catch(() => false)) {
      this.evicted++
      this.log('dropped %p from the routing table: it did not answer a ping', peer)
    }
  }

  /**
   * Watches the events of every query run through the manager (`traffic`: a caller's query, not a
   * refresh's): a peer that answers is alive; a
   * table peer whose RPC failed while no connection to it is open (a failed dial: gone, or its
   * address changed) is pinged at once and dropped when unreachable (see `check`), so a dead peer
   * stops being a lookup's starting point without waiting for the next refresh. When every ping
   * slot is busy the peer becomes a suspect, which the next refresh checks before silent peers.
   */
  private observe (event: QueryEvent, traffic = true): void {
    if (event.name === 'PEER_RESPONSE') {
      this.heardFrom.set(event.from.toString(), Date.now())
      if (traffic && (event.messageName === 'FIND_NODE' || event.messageName === 'GET_PROVIDERS')) this.lastAnsweredAt = Date.now()
      return
    }
    if (event.name !== 'QUERY_ERROR' || this.node.status !== 'started') return
    const peer = event.from
    const key = peer.toString()
    if (this.checking.has(key) || this.node.getConnections(peer).length > 0) return
    if (this.checking.size >= LIVENESS_CHECK_CONCURRENCY) {
      // no ping slot free: the next refresh checks it ahead of the merely silent
      this.suspects.add(key)
      return
    }
    const entry = routingTableEntries(this.dht)?.find(e => e.peerId.equals(peer))
    if (entry == null) return
    this.checking.add(key)
    void (async () => {
      await this.check(peer, entry.kadId)
    })().finally(() => this.checking.delete(key))
  }

  /**
   * Recounts provider records in the background after provide/stopProviding: one scan at a time,
   * at most one per second, so announcing many CIDs stays linear.
   */
  private requestRecordCount (): void {
    if (this.counting) {
      this.countAgain = true
      return
    }
    this.counting = true
    void (async () => {
      do {
        this.countAgain = false
        await this.countProviderRecords()
        await new Promise(resolve => setTimeout(resolve, RECORD_COUNT_SPACING_MS).unref())
      } while (this.countAgain)
    })()
      .catch(err => { this.log.error('could not count provider records - %e', err) })
      .finally(() => { this.counting = false })
  }

  private schedule (): void {
    const delay = this.refreshIntervalMs * (1 - REFRESH_JITTER + 2 * REFRESH_JITTER * Math.random())
    this.timer = setTimeout(() => {
      this.timer = undefined
      if (!this.started) return
      if (this.node.status !== 'started') {
        this.schedule()
        return
      }
      const controller = new AbortController()
      this.refreshController = controller
      this.refreshRound({ signal: controller.signal }, true)
        .catch(err => {
          if (controller.signal.aborted) return
          this.refreshErrors++
          this.log.error('routing table refresh failed - %e', err)
        })
        .finally(() => {
          if (this.started && this.timer == null) this.schedule()
        })
    }, delay)
    this.timer.unref?.()
  }

  private assertRunning (): void {
    if (this.node.status !== 'started') {
      throw new DhtNotRunningError(`the libp2p node is ${this.node.status}, not started`)
    }
  }

  /** The caller's signal combined with the per-query time limit. */
  /** The caller's signal bounded by the query time limit, and whether the limit (not the caller) ended it. */
  private querySignal (user?: AbortSignal): { signal: AbortSignal, timeout: AbortSignal, timedOut: () => boolean } {
    const timeout = AbortSignal.timeout(this.queryTimeoutMs)
    const signal = user == null ? timeout : AbortSignal.any([user, timeout])
    // kad-dht adds a listener per request of a query
    setMaxListeners(Infinity, signal, timeout)
    return { signal, timeout, timedOut: () => timeout.aborted && user?.aborted !== true }
  }

  /** Counts, bounds and types one query. */
  private async run<T> (operation: DhtOperation, opts: DhtQueryOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    this.assertRunning()
    this.counts[operation]++
    this.pending++
    const { signal, timedOut } = this.querySignal(opts.signal)
    const t0 = performance.now()
    let outcome: DhtQueryOutcome = 'error'
    try {
      const out = await fn(signal)
      outcome = 'ok'
      return out
    } catch (err) {
      if (timedOut()) outcome = 'timeout'
      if (timedOut() && !(err instanceof DhtQueryTimeoutError)) {
        throw new DhtQueryTimeoutError(`${operation} did not finish within ${this.queryTimeoutMs} ms`, {
          cause: err, operation, timeoutMs: this.queryTimeoutMs
        })
      }
      throw err
    } finally {
      this.pending--
      this.onQueryDone?.(operation, performance.now() - t0, outcome)
    }
  }

  private async announce (cid: CID, signal: AbortSignal, onQueryEvent?: (event: QueryEvent) => void): Promise<{ holders: number }> {
    this.provided.set(cidKey(cid), cid)
    if (routingTableSize(this.dht) === 0 && await addLocalProvider(this.dht, cid, this.node.peerId, { signal })) {
      this.requestRecordCount()
      return { holders: 0 }
    }
    const holders = new Set<string>()
    const candidates = new Map<string, PeerId>()
    const failed = new Set<string>()
    for (let pass = 1; pass <= PROVIDE_PASSES; pass++) {
      const closest = new Set<string>()
      const reached = new Set<string>()
      for await (const event of this.dht.provide(cid, { signal })) {
        this.observe(event)
        onQueryEvent?.(event)
        if (event.name === 'FINAL_PEER') closest.add(event.peer.id.toString())
        if (event.name === 'PEER_RESPONSE' && event.messageName === 'ADD_PROVIDER') reached.add(event.from.toString())
        if (event.name === 'PEER_RESPONSE' && event.messageName === 'FIND_NODE') for (const p of event.closer) candidates.set(p.id.toString(), p.id)
        if (event.name === 'QUERY_ERROR') failed.add(event.from.toString())
      }
      for (const peer of reached) holders.add(peer)
      if (signal.aborted || holders.size >= this.dht.k) break
      const missed = [...closest].some(peer => !reached.has(peer))
      const tooFew = closest.size < this.dht.k && (routingTableSize(this.dht) ?? 0) >= this.dht.k
      if (!missed && !tooFew) break
      if (pass < PROVIDE_PASSES) this.provideRetries++
    }
    if (holders.size < this.dht.k && (routingTableSize(this.dht) ?? 0) >= this.dht.k && !signal.aborted) {
      for (const p of routingTableClosest(this.dht, await kadId(cid.multihash.bytes), 2 * this.dht.k) ?? []) candidates.set(p.toString(), p)
      const before = holders.size
      this.provideTopUps += await topUpProvide({
        dht: this.dht, cid, self: this.node.peerId, multiaddrs: this.node.getMultiaddrs(), holders, candidates: candidates.values(),
        failed, want: this.dht.k, concurrency: TOP_UP_CONCURRENCY, maxSends: 2 * this.dht.k, signal, onQueryEvent
      })
      this.log('provide %c: %d holders after the lookup, %d after the top-up', cid, before, holders.size)
    }
    this.requestRecordCount()
    // kad-dht's publish phase turns per-peer aborts into QUERY_ERROR events, so a provide cut short
    // by the time limit can end without throwing: surface the abort (run() types it)
    signal.throwIfAborted()
    return { holders: holders.size }
  }

  private async * providerStream (cid: CID, opts: FindProvidersOptions, state: { timedOut: boolean }): AsyncGenerator<ProviderInfo, void, undefined> {
    this.assertRunning()
    this.counts.findProviders++
    this.pending++
    const { signal, timeout, timedOut } = this.querySignal(opts.signal)
    const seen = new Set<string>()
    const limit = opts.limit ?? Infinity
    const t0 = performance.now()
    // a reader that stops early (return) ends the query as ok
    let outcome: DhtQueryOutcome = 'ok'
    try {
      // an empty table gives kad-dht's query no starting peer: the lookup would end at once with
      // nothing, though the node may be connected to DHT peers its table never took in
      if (routingTableSize(this.dht) === 0) await this.adoptConnected(signal)
      for await (const event of this.dht.findProviders(cid, { signal })) {
        this.observe(event)
        opts.onQueryEvent?.(event)
        if (event.name !== 'PROVIDER') continue
        for (const p of event.providers) {
          const id = p.id.toString()
          // a record naming us for a CID we no longer provide is a remote copy from before
          // stopProviding, alive until its TTL: we know it is stale
          if (seen.has(id) || (p.id.equals(this.node.peerId) && !this.provided.has(cidKey(cid)))) continue
          seen.add(id)
          yield { id: p.id, multiaddrs: uniqueAddrs(p.multiaddrs) }
          if (seen.size >= limit) return
        }
      }
      state.timedOut = timeout.aborted
      if (state.timedOut) outcome = 'timeout'
    } catch (err) {
      if (timedOut()) {
        state.timedOut = true
        outcome = 'timeout'
        return
      }
      outcome = 'error'
      throw err
    } finally {
      this.pending--
      this.onQueryDone?.('findProviders', performance.now() - t0, outcome)
    }
  }
}
