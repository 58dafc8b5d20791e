import { chunksForRange, type Manifest } from '@codio/content'
import { fecPlan } from '@codio/fec'
import { keepAlive, releaseKeepAlive, type P2PNode } from '@codio/p2p'
import { Download, DownloadAbortedError, exchangeFetcher, type DownloadInit, type SwarmHost } from '@codio/swarm'
import { withSpan } from '@codio/tracing'
import { readRange, type ByteRange } from './content-reader.js'
import { DownloadTrace, peerTracer } from './download-trace.js'
import { DEFAULT_LOOKUP_TIMEOUT_MS, type ProviderSearches } from './provider-searches.js'
import type { ChunkExchange } from '@codio/exchange'
import type { BlockStore } from '@codio/store'
import type { Logger } from '@codio/telemetry'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'
import type { Announcer } from './announcer.js'
import type { BanList } from './bans.js'
import type { PeerMetrics } from './metrics.js'
import type { PeerRoles } from './peer-roles.js'
import type { Resolver, ResolvedContent } from './resolver.js'

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

/**
 * Bytes of verified chunks a download keeps in memory ahead of its reader (`readAhead` of
 * `@codio/swarm`, at least two chunks): an edge response streams them as they arrive instead of
 * reading back from the store what the download has just written. 8 MiB: the streaming window
 * (8 chunks of 1 MiB) the picker requests ahead of the reader.
 */
export const READ_AHEAD_BYTES = 8 * 1024 * 1024

/** The download settings a reconfiguration changes, for new downloads and those running. */
export type FetchSettings = Pick<DownloadInit, 'perPeerInFlight' | 'maxInFlight' | 'strategy' | 'streamingWindow'>

/** Read at every download (the peer's live settings), so that a reconfiguration applies to the next one. */
export interface DownloadsInit extends FetchSettings {
  /** Longest provider lookup of a download that has none from its resolution (ms). */
  lookupTimeoutMs?: number
}

export interface DownloadsComponents {
  node: P2PNode
  /** Where chunks go (verified), and where a held content is read from. */
  store: BlockStore
  exchange: ChunkExchange
  swarm: SwarmHost
  searches: ProviderSearches
  resolver: Pick<Resolver, 'resolve'>
  announcer: Pick<Announcer, 'provide'>
  bans: Pick<BanList, 'isBanned'>
  metrics: PeerMetrics
  peerRoles: Pick<PeerRoles, 'of'>
  log: Logger
  /** Record a finished whole download as held and announce it (`CodioPeer.markComplete`). */
  complete: (contentId: CID) => Promise<void>
  /** What this node holds changed (a download joined its content's swarm): gossip it. */
  changed: () => void
}

/** FEC repair totals since start. */
export interface FecTotals {
  chunksRebuilt: number
  parityChunksFetched: number
  groupsRepaired: number
}

/**
 * The download orchestrator: swarm downloads shared by all readers of a content, each fed by
 * a provider lookup, joined to its content's swarm (sessions, kept-alive connections, peer
 * exchange, rediscovery of late joiners) and, once far enough, announced as a provider.
 */
export class Downloads {
  /** Whole-content downloads in progress, and the promise that records and provides each. */
  private readonly whole = new Map<string, { dl: Download, complete: Promise<void> }>()
  /** Range downloads in progress, by content (a purge fails them too). */
  private readonly ranges = new Map<string, Set<Download>>()
  /** Peers kept connected for each whole download, released when it ends. */
  private readonly keptAlive = new WeakMap<Download, Map<string, PeerId>>()
  readonly fecTotals: FecTotals = { chunksRebuilt: 0, parityChunksFetched: 0, groupsRepaired: 0 }

  constructor (private readonly components: DownloadsComponents, private readonly init: DownloadsInit) {}

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
    return ranges.map(range => readRange(manifest, this.components.store, range, download))
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
    const existing = this.whole.get(key)
    if (existing != null) return existing.dl
    const part = whole ? undefined : range
    const trace = new DownloadTrace(resolved.contentId, resolved.manifest.chunks.length, part)
    return trace.run(() => this.startDownload(resolved, part, trace))
  }

  /** Fetch a whole content into the store and provide it (the admin Prefetch call). */
  async prefetch (contentId: CID, signal?: AbortSignal): Promise<{ manifest: Manifest, chunksFetched: number, seconds: number }> {
    const t0 = performance.now()
    const resolved = await this.components.resolver.resolve(contentId, signal)
    if (resolved.local) return { manifest: resolved.manifest, chunksFetched: 0, seconds: (performance.now() - t0) / 1000 }
    const dl = this.download(resolved)
    const before = dl.progress().chunksDone
    signal?.addEventListener('abort', () => dl.fail(new Error('prefetch aborted')), { once: true })
    // the shared download records and provides the content once; wait for exactly that
    await (this.whole.get(contentId.toString())?.complete ?? dl.done)
    return { manifest: resolved.manifest, chunksFetched: dl.progress().chunksDone - before, seconds: (performance.now() - t0) / 1000 }
  }

  /** Fail every download of `contentId` with DownloadAbortedError and forget them (a purge). */
  abort (contentId: CID, reason: string): void {
    const key = contentId.toString()
    const err = new DownloadAbortedError(reason)
    const whole = this.whole.get(key)
    this.whole.delete(key)
    whole?.dl.fail(err)
    for (const dl of this.ranges.get(key) ?? []) dl.fail(err)
    this.ranges.delete(key)
  }

  /** Fail every download (the peer stops). */
  stop (): void {
    for (const dl of this.running()) dl.fail(new Error('peer stopping'))
  }

  /** Apply changed request depth, piece order or streaming window to the downloads running. */
  reconfigure (fetch: FetchSettings): void {
    for (const dl of this.running()) dl.reconfigure(fetch)
  }

  /**
   * Peers a swarm peer named by peer exchange (BEP 11) while we fetch `contentId`: their
   * addresses go to the peer store and each gets a swarm session, as a provider found by a
   * lookup would.
   */
  joinNamedPeers (contentId: CID, peers: Array<{ id: PeerId, multiaddrs: Multiaddr[] }>): void {
    const { node, bans, metrics } = this.components
    const dl = this.whole.get(contentId.toString())?.dl
    if (dl == null) return
    const tried = this.keptAlive.get(dl)
    for (const p of peers) {
      // a peer named again (by another session, or after a failed dial) is not dialled again
      // here: the keep-alive redials it, and a lookup that finds it opens its session
      if (p.id.equals(node.peerId) || tried?.has(p.id.toString()) === true || bans.isBanned(p.id)) continue
      metrics.pexPeers.inc()
      void (async () => {
        // a connected peer's addresses are known (identify); a merge costs a peer-store write
        if (p.multiaddrs.length > 0 && node.getConnections(p.id).length === 0) await node.peerStore.merge(p.id, { multiaddrs: p.multiaddrs }).catch(() => {})
        await this.joinSwarm(p.id, contentId, dl)
      })().catch(() => {})
    }
  }

  private running (): Download[] {
    return [...[...this.whole.values()].map(d => d.dl), ...[...this.ranges.values()].flatMap(set => [...set])]
  }

  /** {@link download}, inside its span: `part` is the range of a range download, undefined for a whole one. */
  private startDownload (resolved: ResolvedContent, part: { first: number, last: number } | undefined, trace: DownloadTrace): Download {
    const { store, exchange, swarm, metrics, peerRoles, announcer, log } = this.components
    const key = resolved.contentId.toString()
    const manifest = resolved.manifest
    const whole = part == null
    let announced = false
    const dl = new Download({
      chunks: manifest.chunks,
      first: part?.first,
      last: part?.last,
      fetcher: exchangeFetcher(exchange),
      sink: store,
      size: manifest.size,
      chunkSize: manifest.chunkSize,
      perPeerInFlight: this.init.perPeerInFlight,
      maxInFlight: this.init.maxInFlight,
      strategy: this.init.strategy,
      streamingWindow: this.init.streamingWindow,
      // a reader (the edge's response) streams the chunks it waits for from memory, not the store
      readAhead: Math.max(2, Math.floor(READ_AHEAD_BYTES / manifest.chunkSize)),
      // always through the bucket (free while unlimited), so a limit set later applies
      throttle: async (bytes, signal) => { await swarm.download.take(bytes, signal) },
      fec: fecPlan(manifest),
      onChunk: (peer, index, bytes) => {
        if (!announced && whole && dl.chunksDone >= PROVIDE_AT_FRACTION * manifest.chunks.length) {
          // a provider record says "ask me for chunks": made once we hold half of them (the
          // swarm already knows us by peer exchange; see PROVIDE_AT_FRACTION)
          announced = true
          void announcer.provide(resolved.contentId)
        }
        trace.chunk(peer, index >= manifest.chunks.length)
        const peerRole = peerRoles.of(peer)
        metrics.chunksReceived.inc({ peer_role: peerRole })
        metrics.bytesReceived.inc({ peer_role: peerRole }, bytes)
        swarm.rates.recordDown(peer.toString(), bytes)
        if (index >= manifest.chunks.length) {
          metrics.parityChunksReceived.inc()
          this.fecTotals.parityChunksFetched++
        } else {
          swarm.chunkStored(resolved.contentId, index)
        }
      },
      onRebuilt: (group, chunks) => {
        trace.repaired(group, chunks)
        metrics.chunksRebuilt.inc(chunks.length)
        metrics.fecGroupsRepaired.inc()
        this.fecTotals.chunksRebuilt += chunks.length
        this.fecTotals.groupsRepaired++
        for (const i of chunks) swarm.chunkStored(resolved.contentId, i)
        log.info({ contentId: key, group, chunks }, 'rebuilt chunks from FEC parity')
      }
    })
    const search = resolved.search ?? this.components.searches(resolved.contentId, { timeoutMs: this.init.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS })
    if (whole) {
      // a whole download joins the content's swarm: sessions with every provider (bitfields,
      // have, chokes), and a provider record so that peers fetching it at the same time find
      // us and trade chunks (BEP 3 peers announce themselves as they start)
      const attached = swarm.attach(resolved.contentId, manifest.chunks, dl)
      void attached.then(() => this.components.changed())
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
      const complete = dl.done.then(async () => await withSpan(peerTracer, 'cache.write', { attributes: { 'codio.content.id': key } }, async () => { await this.components.complete(resolved.contentId) }))
      trace.endWith(complete)
      this.whole.set(key, { dl, complete })
      complete
        .catch((err: Error) => log.warn({ contentId: key, err: err.message }, 'download failed'))
        // a purge removes the entry itself, and a new download may take the key meanwhile
        .finally(() => { if (this.whole.get(key)?.dl === dl) this.whole.delete(key) })
      void attached.then(async () => await dl.start()).catch(err => dl.fail(err))
    } else {
      let ranges = this.ranges.get(key)
      if (ranges == null) this.ranges.set(key, ranges = new Set())
      ranges.add(dl)
      const finished = (): void => {
        ranges.delete(dl)
        if (ranges.size === 0 && this.ranges.get(key) === ranges) this.ranges.delete(key)
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
   * While `dl` runs, look the content's providers up again, from {@link REDISCOVER_MS} on with
   * exponential backoff ({@link REDISCOVER_PEX_MS} with peer exchange): peers that started
   * fetching it after us announce themselves once they hold a chunk, and trading chunks
   * with them is what takes load off the origin (BitTorrent clients re-announce to their
   * tracker for the same reason). New ones get a session; known ones are skipped.
   */
  private async rediscover (contentId: CID, dl: Download): Promise<void> {
    const { node, swarm, searches } = this.components
    let finished = false
    dl.done.then(() => { finished = true }, () => { finished = true })
    // 1 s, 2 s, 4 s … at most 10 s (10 s, 20 s … 60 s with peer exchange): late joiners are
    // found quickly, and a long download does not walk the DHT every second
    const pex = swarm.policy.peerExchange
    const longest = pex ? REDISCOVER_MAX_PEX_MS : REDISCOVER_MAX_MS
    let wait = pex ? REDISCOVER_PEX_MS : REDISCOVER_MS
    while (!finished && node.status === 'started') {
      // ±20 %: peers that started together do not all walk the DHT in the same instant
      await new Promise(resolve => setTimeout(resolve, wait * (0.8 + 0.4 * Math.random())).unref())
      wait = Math.min(wait * 2, longest)
      if (finished) return
      if (pex && dl.progress().peers >= REDISCOVER_ENOUGH_PEERS) continue
      // the DHT (or tracker) only: the connected peers were asked at the start, and peer
      // exchange names every swarm peer since
      const search = searches(contentId, { timeoutMs: REDISCOVER_MS, connected: false })
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
    const { node, swarm } = this.components
    const reason = `download:${contentId.toString()}`
    let held = this.keptAlive.get(dl)
    if (held == null) {
      const peers = held = new Map<string, PeerId>()
      this.keptAlive.set(dl, held)
      const release = (): void => {
        for (const p of peers.values()) void releaseKeepAlive(node, p, reason).catch(() => {})
      }
      dl.done.then(release, release)
    }
    // rediscovery names the same providers again and again: hold each one once
    if (!peer.equals(node.peerId) && !held.has(peer.toString())) {
      held.set(peer.toString(), peer)
      void keepAlive(node, peer, reason).catch(() => {})
    }
    await swarm.connect(peer, contentId)
  }
}
