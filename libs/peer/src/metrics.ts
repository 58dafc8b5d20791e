import { Counter, Gauge, type Registry } from '@codio/telemetry'

/** The transfer metrics of a Codio peer, named `codio_<role>_<what>_<unit>`. */
export interface PeerMetrics {
  chunksReceived: Counter
  bytesReceived: Counter
  chunksServed: Counter
  bytesServed: Counter
  verificationFailures: Counter
  /** by `reason`: timeout, refused, verification, or the error's name (a provider gone) */
  fetchFailures: Counter<'reason'>
  chunksRebuilt: Counter
  parityChunksReceived: Counter
  fecGroupsRepaired: Counter
  pexPeers: Counter
  /** by `reason` (a {@link RefusalReason} of `@codio/exchange`): peers refused for passing a per-peer limit */
  exchangeRefused: Counter<'reason'>
  connectedPeers: Gauge
  contents: Gauge
  dhtRoutingTablePeers: Gauge
  dhtProviding: Gauge
  dhtProviderRecords: Gauge
  dhtPendingQueries: Gauge
}

export function createPeerMetrics (role: string, registry: Registry): PeerMetrics {
  const p = `codio_${role}`
  return {
    chunksReceived: new Counter({ name: `${p}_chunks_received_total`, help: 'Verified chunks fetched from peers', registers: [registry] }),
    bytesReceived: new Counter({ name: `${p}_received_bytes_total`, help: 'Verified chunk bytes fetched from peers', registers: [registry] }),
    chunksServed: new Counter({ name: `${p}_chunks_served_total`, help: 'Blocks served to peers over /codio/chunk', registers: [registry] }),
    bytesServed: new Counter({ name: `${p}_served_bytes_total`, help: 'Block bytes served to peers', registers: [registry] }),
    fetchFailures: new Counter({ name: `${p}_chunk_fetch_failures_total`, help: 'Chunk requests to peers that failed, by reason (timeout, refused, verification, or the error: a provider gone shows as a reset or a failed dial)', labelNames: ['reason'] as const, registers: [registry] }),
    verificationFailures: new Counter({ name: `${p}_chunk_verification_failures_total`, help: 'Blocks from peers that did not match their CID', registers: [registry] }),
    chunksRebuilt: new Counter({ name: `${p}_chunks_rebuilt_total`, help: 'Data chunks rebuilt from FEC parity instead of fetched', registers: [registry] }),
    parityChunksReceived: new Counter({ name: `${p}_parity_chunks_received_total`, help: 'Verified FEC parity chunks fetched from peers to rebuild data chunks', registers: [registry] }),
    fecGroupsRepaired: new Counter({ name: `${p}_fec_groups_repaired_total`, help: 'FEC groups whose missing data chunks were rebuilt', registers: [registry] }),
    pexPeers: new Counter({ name: `${p}_pex_peers_total`, help: 'Swarm peers named to us by peer exchange (BEP 11) while fetching, and dialled', registers: [registry] }),
    exchangeRefused: new Counter({ name: `${p}_exchange_refused_total`, help: 'Peers refused for passing a per-peer limit ([limits]), by reason', labelNames: ['reason'] as const, registers: [registry] }),
    connectedPeers: new Gauge({ name: `${p}_connected_peers`, help: 'Open libp2p connections', registers: [registry] }),
    contents: new Gauge({ name: `${p}_contents`, help: 'Contents held completely and provided', registers: [registry] }),
    dhtRoutingTablePeers: new Gauge({ name: `${p}_dht_routing_table_peers`, help: 'Peers in the Kademlia routing table', registers: [registry] }),
    dhtProviding: new Gauge({ name: `${p}_dht_providing`, help: 'Content IDs this node announces (provider records it republishes)', registers: [registry] }),
    dhtProviderRecords: new Gauge({ name: `${p}_dht_provider_records`, help: 'Provider records held in this node\'s DHT store (for others and itself)', registers: [registry] }),
    dhtPendingQueries: new Gauge({ name: `${p}_dht_pending_queries`, help: 'DHT queries in flight', registers: [registry] })
  }
}
