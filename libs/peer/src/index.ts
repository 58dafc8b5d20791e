/**
 * @packageDocumentation
 * A Codio peer: block store + libp2p node + chunk exchange + DHT provider records + manifest
 * resolution and verification + shared swarm downloads. Origin, relay and edge each run one.
 *
 * @example
 * ```ts
 * import { CodioPeer } from '@codio/peer'
 * const peer = await CodioPeer.create({ role: 'edge', dataDir, bootstrap, trustedKeys, log, registry })
 * await peer.start()
 * const resolved = await peer.resolve(contentId)
 * const [body] = peer.read(resolved, [{ start: 0, end: resolved.manifest.size - 1 }])
 * for await (const bytes of body) res.write(bytes)   // verified chunks, in order
 * ```
 */
export * from './errors.js'
export { CodioPeer, DEFAULT_SWARM_POLICY, type CodioNode, type PeerInit, type PeerReconfigure } from './peer.js'
export type { ResolvedContent } from './resolver.js'
export { SwarmHost, LIVE_SWARM_POLICY_KEYS, type LiveSwarmPolicyKey, type SwarmPolicy } from '@codio/swarm'
export { ProviderSearch, CONNECTED_PROBE_MAX, CONNECTED_PROBE_MS, DHT_WALKS_MAX, type ConnectedPeers, type ProviderSearchSources, type ProviderSource } from './provider-search.js'
export { createPeerMetrics, registerStoreMetrics, type PeerMetrics } from './metrics.js'
export { codioUserAgent, PeerRoles, type PeerRole } from './peer-roles.js'
export { readRange, BlockMissingError, type ByteRange } from './content-reader.js'
export { peerAdminBackend } from './admin-backend.js'
export { BanList, MAX_BAN_REASON_LENGTH, type Ban, type BanListInit, type ClusterBan } from './bans.js'
export { purgeContent, manifestBlocks, type PurgeHost, type PurgeResult } from './purge.js'
export * from './config.js'
