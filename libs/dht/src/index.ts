/**
 * @packageDocumentation
 * The DHT manager every Codio service uses, over the node's kad-dht (`/codio/kad/1.0.0`, K = 20):
 * provide / stopProviding, streaming findProviders, findPeer and closestPeers (XOR-sorted), each
 * bounded by a per-query time limit (≤ 60 s) and counted in {@link DhtManager.stats}; a periodic
 * routing-table refresh (liveness pings that drop dead peers, self lookup + random walk; a table
 * peer whose RPC fails is checked at once); and {@link DhtManager.findProvidersTraced},
 * which reports a lookup's latency to the first provider, its hops and the peers it contacted.
 *
 * @example
 * ```ts
 * import { createP2PNode } from '@codio/p2p'
 * import { DhtManager, DhtQueryTimeoutError } from '@codio/dht'
 *
 * const node = await createP2PNode({ privateKey, bootstrap: [relayAddr] })
 * await node.start()
 * const dht = new DhtManager(node, { queryTimeoutMs: 30_000 })
 * dht.start()                                   // refresh every 10 min
 * const { holders } = await dht.provide(cid)    // peers that took the provider record
 * for await (const p of dht.findProviders(cid, { limit: 5 })) {
 *   console.log(p.id.toString(), p.multiaddrs)  // ends at query end, limit or time limit
 * }
 * const trace = await dht.findProvidersTraced(cid)
 * console.log(trace.firstMs, trace.hops, trace.peersContacted)
 * dht.stop()
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export {
  DhtManager,
  type ClosestPeersOptions, type DhtManagerInit, type DhtNode, type DhtQueryOptions, type DhtQueryOutcome, type DhtStats,
  type FindProvidersOptions, type RefreshResult
} from './manager.js'
export { LookupTracer, type LookupTrace, type ProviderInfo } from './trace.js'
export { compareXor, kadId, peerKadId, sortByDistance, xorDistance } from './xor.js'
