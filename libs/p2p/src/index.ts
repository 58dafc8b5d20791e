/**
 * @packageDocumentation
 * The libp2p node every Codio process runs: TCP + QUIC-v1, Noise, Yamux, identify, ping and
 * a Kademlia DHT on `/codio/kad/1.0.0`.
 *
 * @example
 * ```ts
 * import { createP2PNode, loadOrCreatePeerKey } from '@codio/p2p'
 * const node = await createP2PNode({ privateKey: await loadOrCreatePeerKey('.codio/edge-1/peer.key'), bootstrap: [relayAddr] })
 * await node.start()
 * await node.contentRouting.provide(cid)
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export { createP2PNode, type P2PNode, type P2PNodeInit, type P2PServices } from './create-node.js'
export { loadOrCreatePeerKey } from './peer-key.js'
