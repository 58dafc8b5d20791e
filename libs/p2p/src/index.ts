/**
 * @packageDocumentation
 * The libp2p node every Codio process runs: TCP + QUIC-v1 + circuit relay v2, Noise, Yamux,
 * identify, ping keep-alive and a Kademlia DHT on `/codio/kad/1.0.0`; peers found through the
 * bootstrap list, mDNS on the LAN and the DHT; per-peer records in `node.services.peers`.
 *
 * @example
 * ```ts
 * import { createP2PNode, keepAlive, loadOrCreatePeerKey, QUERY_TIMEOUT_MS } from '@codio/p2p'
 * const node = await createP2PNode({ privateKey: await loadOrCreatePeerKey('.codio/edge-1/peer.key'), bootstrap: [relayAddr], mdns: true })
 * await node.start()
 * await node.contentRouting.provide(cid, { signal: AbortSignal.timeout(QUERY_TIMEOUT_MS) })
 * await keepAlive(node, provider, cid.toString())
 * console.log(node.services.peers.list())
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export { createP2PNode, type P2PNode, type P2PNodeInit, type P2PServices, type RelayServerInit } from './create-node.js'
export { keepAlive, releaseKeepAlive, DEFAULT_KEEP_ALIVE_REASON, type HasPeerTable } from './keep-alive.js'
export { mdnsDiscovery, type MdnsInit } from './mdns.js'
export { PeerTable, peerTable, BOOTSTRAP_REASON, type PeerRecord, type PeerTableInit } from './peer-table.js'
export type { ReconnectInit } from './reconnector.js'
export type { ConnectionLimitStats } from './connection-limit.js'
export { loadOrCreatePeerKey } from './peer-key.js'
export { noiseCrypto } from './noise-crypto.js'
export { cachingTls, CachingTls, TLS_PROTOCOL, type TlsComponents } from './tls-encrypter.js'
export { PeerCertificates, VERIFIED_CERTIFICATES } from './peer-certificates.js'
