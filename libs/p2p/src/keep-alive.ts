import type { PeerId } from '@libp2p/interface'
import type { PeerTable } from './peer-table.js'

/** Anything with the `peers` service, e.g. a {@link P2PNode}. */
export interface HasPeerTable {
  services: { peers: PeerTable }
}

/** Reason used by {@link keepAlive} and {@link releaseKeepAlive} when the caller gives none. */
export const DEFAULT_KEEP_ALIVE_REASON = 'default'

/**
 * Keep the node connected to `peerId` (e.g. a peer a download depends on): tag it so the
 * connection pruner closes it last, dial it now if it is not connected, and redial it with
 * exponential backoff whenever its last connection closes, until {@link releaseKeepAlive}.
 * Holds are counted per `reason` (use the download's content ID), so two downloads sharing a
 * peer do not release each other's hold.
 *
 * @throws InvalidPeerIdError when `peerId` is the node's own
 */
export async function keepAlive (node: HasPeerTable, peerId: PeerId, reason = DEFAULT_KEEP_ALIVE_REASON): Promise<void> {
  await node.services.peers.keepAlive(peerId, reason)
}

/**
 * Release `reason`'s hold on `peerId` (see {@link keepAlive}). With no hold left the peer is
 * untagged and no longer redialled; its open connections stay until closed or pruned.
 */
export async function releaseKeepAlive (node: HasPeerTable, peerId: PeerId, reason = DEFAULT_KEEP_ALIVE_REASON): Promise<void> {
  await node.services.peers.release(peerId, reason)
}
