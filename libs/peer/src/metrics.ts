import { statfs } from 'node:fs/promises'
import { Counter, Gauge, Histogram, type Registry } from '@codio/telemetry'
import type { BlockStore } from '@codio/store'
import { BULK_FALLBACK_REASONS, type RefusalReason } from '@codio/exchange'
import type { PeerRole } from './peer-roles.js'

/**
 * The metrics of a Codio peer (origin, relay or edge). Names follow the Prometheus conventions
 * (base units, `_total` on counters) and are the same in every role: the registry adds a `role`
 * label, the scrape `job` and `instance`. `peer_role` is the role the other peer told in identify
 * (`origin`, `relay`, `edge`, `unknown`), so that bytes pulled from origins — the origin egress a
 * CDN exists to save — are one selector.
 */
export interface PeerMetrics {
  /** by `peer_role` of the sender */
  chunksReceived: Counter<'peer_role'>
  bytesReceived: Counter<'peer_role'>
  /** by `peer_role` of the receiver */
  chunksServed: Counter<'peer_role'>
  bytesServed: Counter<'peer_role'>
  verificationFailures: Counter
  /** by `reason`: timeout, refused, verification, or the error's name (a provider gone) */
  fetchFailures: Counter<'reason'>
  chunksRebuilt: Counter
  parityChunksReceived: Counter
  fecGroupsRepaired: Counter
  pexPeers: Counter
  /** by `reason` (a {@link RefusalReason} of `@codio/exchange`): peers refused for passing a per-peer limit */
  exchangeRefused: Counter<'reason'>
  /** by `reason` (a `BulkFallbackReason` of `@codio/exchange`): peers left to libp2p streams for a minute */
  bulkFallbacks: Counter<'reason'>
  connectedPeers: Gauge
  /** swarm session peers by `state`: `choked` or `unchoked` by this node */
  swarmPeers: Gauge<'state'>
  contents: Gauge
  dhtRoutingTablePeers: Gauge
  dhtProviding: Gauge
  dhtProviderRecords: Gauge
  dhtPendingQueries: Gauge
  /** by `operation` (provide, findProviders, findPeer, closestPeers) and `result` (ok, timeout, error) */
  dhtQueryDuration: Histogram<'operation' | 'result'>
  /** by `result`: peers, empty, unavailable, error */
  trackerLookups: Counter<'result'>
  trackerLookupDuration: Histogram<'result'>
}

/** Seconds; from a local lookup (milliseconds) to a walk at the 60 s query limit. */
const DHT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
/** Seconds; a tracker answers in milliseconds and is given up on after 500 ms by default. */
const TRACKER_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

export function createPeerMetrics (registry: Registry): PeerMetrics {
  const registers = [registry]
  const metrics: PeerMetrics = {
    chunksReceived: new Counter({ name: 'codio_swarm_chunks_received_total', help: 'Verified chunks (data and parity) fetched from peers, by the sender\'s role', labelNames: ['peer_role'] as const, registers }),
    bytesReceived: new Counter({ name: 'codio_swarm_received_bytes_total', help: 'Verified chunk bytes fetched from peers, by the sender\'s role (peer_role="origin" is origin egress)', labelNames: ['peer_role'] as const, registers }),
    chunksServed: new Counter({ name: 'codio_swarm_chunks_sent_total', help: 'Chunks served to peers over /codio/chunk, by the receiver\'s role', labelNames: ['peer_role'] as const, registers }),
    bytesServed: new Counter({ name: 'codio_swarm_sent_bytes_total', help: 'Chunk bytes served to peers, by the receiver\'s role', labelNames: ['peer_role'] as const, registers }),
    fetchFailures: new Counter({ name: 'codio_chunk_fetch_failures_total', help: 'Chunk requests to peers that failed, by reason (timeout, refused, verification, or the error: a provider gone shows as a reset or a failed dial)', labelNames: ['reason'] as const, registers }),
    verificationFailures: new Counter({ name: 'codio_chunk_verification_failures_total', help: 'Chunks from peers that did not match their CID', registers }),
    chunksRebuilt: new Counter({ name: 'codio_fec_chunks_rebuilt_total', help: 'Data chunks rebuilt from FEC parity instead of fetched', registers }),
    parityChunksReceived: new Counter({ name: 'codio_fec_parity_chunks_received_total', help: 'Verified FEC parity chunks fetched from peers to rebuild data chunks', registers }),
    fecGroupsRepaired: new Counter({ name: 'codio_fec_groups_repaired_total', help: 'FEC groups whose missing data chunks were rebuilt', registers }),
    pexPeers: new Counter({ name: 'codio_pex_peers_total', help: 'Swarm peers named to us by peer exchange (BEP 11) while fetching, and dialled', registers }),
    exchangeRefused: new Counter({ name: 'codio_exchange_refused_total', help: 'Peers refused for passing a per-peer limit ([limits]), by reason', labelNames: ['reason'] as const, registers }),
    bulkFallbacks: new Counter({ name: 'codio_exchange_bulk_fallbacks_total', help: 'Peers whose chunks go over libp2p streams for a minute instead of the bulk channel, by reason (relayed, unsupported, connect: its port did not answer, certificate: it named another peer)', labelNames: ['reason'] as const, registers }),
    connectedPeers: new Gauge({ name: 'codio_connected_peers', help: 'Open libp2p connections', registers }),
    swarmPeers: new Gauge({ name: 'codio_swarm_peers', help: 'Peers this node holds swarm sessions with, by whether it chokes them (BEP 3 choking: state="choked" or "unchoked")', labelNames: ['state'] as const, registers }),
    contents: new Gauge({ name: 'codio_store_contents', help: 'Contents held completely and provided', registers }),
    dhtRoutingTablePeers: new Gauge({ name: 'codio_dht_routing_table_peers', help: 'Peers in the Kademlia routing table', registers }),
    dhtProviding: new Gauge({ name: 'codio_dht_provided_contents', help: 'Content IDs this node announces (provider records it republishes)', registers }),
    dhtProviderRecords: new Gauge({ name: 'codio_dht_provider_records', help: 'Provider records held in this node\'s DHT store (for others and itself)', registers }),
    dhtPendingQueries: new Gauge({ name: 'codio_dht_pending_queries', help: 'DHT queries in flight', registers }),
    dhtQueryDuration: new Histogram({ name: 'codio_dht_query_duration_seconds', help: 'DHT queries by operation (provide, findProviders, findPeer, closestPeers) and result (ok, timeout, error); a findProviders query ends when its reader has enough providers', labelNames: ['operation', 'result'] as const, buckets: DHT_BUCKETS, registers }),
    trackerLookups: new Counter({ name: 'codio_tracker_lookups_total', help: 'Provider lookups asked of the tracker, by outcome (peers, empty, unavailable, error: refused or failed)', labelNames: ['result'] as const, registers }),
    trackerLookupDuration: new Histogram({ name: 'codio_tracker_lookup_duration_seconds', help: 'Time of a provider lookup asked of the tracker (SelectPeers), by outcome', labelNames: ['result'] as const, buckets: TRACKER_BUCKETS, registers })
  }
  // known label values start at 0 (Prometheus instrumentation practice): a rate or a ratio has a
  // series to work on before the first event, and a dashboard shows 0 rather than "no data"
  for (const peerRole of PEER_ROLES) {
    for (const c of [metrics.chunksReceived, metrics.bytesReceived, metrics.chunksServed, metrics.bytesServed]) c.inc({ peer_role: peerRole }, 0)
  }
  for (const reason of ['timeout', 'refused', 'verification']) metrics.fetchFailures.inc({ reason }, 0)
  for (const result of ['peers', 'empty', 'unavailable', 'error']) metrics.trackerLookups.inc({ result }, 0)
  for (const reason of REFUSAL_REASONS) metrics.exchangeRefused.inc({ reason }, 0)
  for (const reason of BULK_FALLBACK_REASONS) metrics.bulkFallbacks.inc({ reason }, 0)
  for (const state of ['choked', 'unchoked']) metrics.swarmPeers.set({ state }, 0)
  return metrics
}

const PEER_ROLES: PeerRole[] = ['origin', 'relay', 'edge', 'unknown']
const REFUSAL_REASONS: RefusalReason[] = ['streams', 'sessions', 'requests', 'message_size', 'buffer', 'have_rate', 'have_range']

/**
 * Gauges of the block store, read at each scrape: blocks and bytes held, and the size and free
 * space of the file system under `store.dir` (the store has no size bound of its own yet, so
 * the file system is its capacity). One scrape reads the store's counts once and the file
 * system once, whichever gauges ask; a read that fails shows as NaN.
 */
export function registerStoreMetrics (registry: Registry, store: Pick<BlockStore, 'stats' | 'dir'>): void {
  const stats = shared(async () => await store.stats())
  const fs = shared(async () => await statfs(store.dir))
  const gauge = (name: string, help: string, value: () => Promise<number>): void => {
    new Gauge({ name, help, registers: [registry], async collect () { this.set(await value().catch(() => NaN)) } })
  }
  gauge('codio_store_blocks', 'Blocks (chunks and manifests) in the store', async () => (await stats()).blocks)
  gauge('codio_store_used_bytes', 'Bytes of the blocks in the store', async () => (await stats()).bytes)
  gauge('codio_store_capacity_bytes', 'Size of the file system that holds the store', async () => { const s = await fs(); return s.blocks * s.bsize })
  gauge('codio_store_available_bytes', 'Bytes the store may still write on its file system (available to unprivileged users)', async () => { const s = await fs(); return s.bavail * s.bsize })
}

/** `read`, shared by the calls made while one is in flight (the gauges of one scrape are collected together). */
function shared<T> (read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined
  return async () => await (pending ??= read().finally(() => { pending = undefined }))
}
