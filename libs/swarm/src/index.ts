/**
 * @packageDocumentation
 * The swarm: the download engine, which pulls the chunks of one content from many peers at
 * once, verified, with failover, in the order a streaming reader needs them; and the
 * {@link SwarmHost}, the node side of the BEP 3 peer wire (sessions, interest, choking,
 * super-seeding, peer exchange, admission and rate limits).
 *
 * @example
 * ```ts
 * import { DEFAULT_SWARM_POLICY, Download, exchangeFetcher, SwarmHost } from '@codio/swarm'
 * // sink: a ChunkSink such as a BlockStore
 * const dl = new Download({ chunks: manifest.chunks, fetcher: exchangeFetcher(node.services.exchange), sink: store })
 * for (const p of providers) dl.addPeer(p)
 * dl.noMorePeers()
 * await dl.start()
 * await dl.chunk(0)   // first chunk stored
 * await dl.done       // all stored
 *
 * // the node's side of every content's swarm, over the swarm session protocol of @codio/exchange
 * const host = new SwarmHost(store, node.services.sessions, DEFAULT_SWARM_POLICY, log, { peerId: node.peerId })
 * host.start()
 * await host.attach(contentId, manifest.chunks, dl)   // session peers feed `dl`
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export { Download } from './download.js'
export type { DownloadInit } from './download-init.js'
export type { BlockFetcher, ChunkSink, FetchFailure, FetchResult } from './fetcher.js'
export { exchangeFetcher, fetchFailure } from './exchange-fetcher.js'
export type { FecRepair } from './fec-repair.js'
export type { DownloadProgress } from './progress.js'
export { Bitfield } from '@codio/bitfield'
export { PiecePicker, type PickStrategy } from './picker.js'
export { SuperSeeder, DEFAULT_SUPER_SEED_REVEALS, DEFAULT_SUPER_SEED_COPIES, DEFAULT_SUPER_SEED_ISOLATION_MS, IN_ORDER_REVEALS_FACTOR, type SuperSeederInit } from './super-seed.js'
export { SwarmHost, type Holding, type SwarmHostOptions, type SwarmStore } from './swarm-host.js'
export { DEFAULT_SWARM_POLICY, LIVE_SWARM_POLICY_KEYS, type LiveSwarmPolicyKey, type SwarmPolicy } from './swarm-policy.js'
export { listenAddresses, type PeerExchangeHooks } from './peer-exchange.js'
export type { SessionPeerState } from './choking.js'
