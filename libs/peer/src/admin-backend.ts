import { parseContentId } from '@codio/content'
import type { AdminBackend } from '@codio/admin'
import type { CodioPeer } from './peer.js'

/**
 * The admin API of a Codio peer: status, per-peer stats, prefetch, content list, purge, and
 * node-scope bans (ban, unban, list with both scopes).
 */
export function peerAdminBackend (peer: CodioPeer, version: string): AdminBackend {
  return {
    async status () {
      const stats = await peer.store.stats()
      return {
        role: peer.init.role,
        peerId: peer.peerId.toString(),
        multiaddrs: peer.node.getMultiaddrs().map(a => a.toString()),
        connectedPeers: peer.node.getConnections().length,
        storedBlocks: stats.blocks,
        storedBytes: stats.bytes,
        contents: (await peer.store.listContents()).length,
        uptimeSeconds: (Date.now() - peer.startedAt) / 1000,
        version,
        chunksRebuilt: peer.fecTotals.chunksRebuilt,
        parityChunksFetched: peer.fecTotals.parityChunksFetched,
        fecGroupsRepaired: peer.fecTotals.groupsRepaired
      }
    },
    async peerStats () {
      const states = peer.swarm.peerStates()
      return [...peer.exchange.peerStats()].map(([peerId, s]) => ({
        uploadRate: peer.swarm.rates.up(peerId),
        downloadRate: peer.swarm.rates.down(peerId),
        choked: states.get(peerId)?.choked ?? false,
        interested: states.get(peerId)?.interested ?? false,
        peerId,
        chunksReceived: BigInt(s.chunksReceived),
        bytesReceived: BigInt(s.bytesReceived),
        chunksSent: BigInt(s.chunksSent),
        bytesSent: BigInt(s.bytesSent),
        failures: BigInt(s.failures),
        verificationFailures: BigInt(s.verificationFailures)
      }))
    },
    async prefetch (contentId, signal) {
      const cid = parseContentId(contentId)
      const r = await peer.prefetch(cid, signal)
      return { contentId, size: r.manifest.size, chunks: r.manifest.chunks.length, chunksFetched: r.chunksFetched, seconds: r.seconds }
    },
    async listContent () {
      return (await peer.store.listContents()).map(c => c.toString())
    },
    /** @throws InvalidCidError (InvalidArgument) for a malformed content ID */
    async purge (contentId) {
      return await peer.purge(parseContentId(contentId))
    },
    /** @throws InvalidPeerIdError (InvalidArgument) malformed or this node's own; InvalidBanError (InvalidArgument) */
    async banPeer (peerId, reason, durationSeconds) {
      return await peer.bans.ban(peerId, reason, durationSeconds)
    },
    /** Lifts a node ban only: a cluster ban of the peer stays. @throws InvalidPeerIdError */
    async unbanPeer (peerId) {
      return await peer.bans.unban(peerId)
    },
    async listBans () {
      return peer.bans.list()
    }
  }
}
