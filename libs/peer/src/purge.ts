import { DAG_CBOR_CODEC, decodeManifest, type Manifest } from '@codio/content'
import type { BlockStore } from '@codio/store'
import type { CID } from 'multiformats/cid'

/** What a purge reports (the admin `Purge` call's answer). */
export interface PurgeResult {
  /** Whether this node held anything of the content: its record, its manifest or a chunk. */
  held: boolean
  /** Chunk blocks removed, data and parity (the manifest is not counted). */
  chunksRemoved: number
  /** Bytes freed in the store, manifest included. */
  bytesFreed: number
}

/** The parts of a peer a purge goes through. */
export interface PurgeHost {
  store: BlockStore
  /** Fail every download of the content in progress here and forget them. */
  stopDownloads(contentId: CID): void
  /** Leave the content's swarm: sessions closed, bitfield forgotten. */
  leaveSwarm(contentId: CID): void
  /** Stop providing: the local provider record removed, no re-provide, no pending announcement. */
  stopProviding(contentId: CID): Promise<void>
  /** Gossip availability to the tracker now; resolves once a snapshot taken after the call went out. */
  gossipNow?(): Promise<unknown>
}

/** Every block a manifest names: its data chunks and the parity chunks of its FEC groups. */
export function manifestBlocks (m: Manifest): CID[] {
  return [...m.chunks, ...(m.fec?.groups.flatMap(g => g.parity) ?? [])]
}

/**
 * Remove `contentId` from this node: downloads of it in progress fail, its swarm sessions
 * close, its held record, manifest and every chunk (data and parity) leave the store, this node
 * stops providing it, and its availability gossip goes out at once without it (the tracker
 * replaces a node's whole availability set per message, so it forgets the content here).
 *
 * Blocks are content-addressed, so two contents with an identical chunk share one block: a
 * chunk named by another manifest in the store (held, partly fetched or being fetched) stays.
 *
 * The provider records other DHT peers keep for us are not withdrawn (Kademlia has no delete):
 * they are no longer re-provided and expire by their TTL (24 h on Codio); a peer that follows
 * one meanwhile is answered NOT_FOUND and moves on. A purge is not a ban: a later request for
 * the content fetches it again as any other. Idempotent: a content not held answers `held: false`.
 *
 * @throws StoreIOError when the store cannot be read or written (what was removed stays removed)
 */
export async function purgeContent (host: PurgeHost, contentId: CID): Promise<PurgeResult> {
  const { store } = host
  host.stopDownloads(contentId)
  // the record first: from here on nothing advertises the content (gossip, handshakes, re-provide)
  const recorded = await store.hasContent(contentId)
  await store.removeContent(contentId)
  host.leaveSwarm(contentId)
  await host.stopProviding(contentId)

  let chunksRemoved = 0
  let bytesFreed = 0
  let manifestHeld = false
  const bytes = await store.get(contentId)
  if (bytes != null) {
    manifestHeld = true
    let blocks: CID[] = []
    try {
      blocks = manifestBlocks(decodeManifest(bytes))
    } catch {
      // an undecodable manifest names no chunk we could find: only the manifest goes
    }
    const shared = await blocksOfOtherContents(store, contentId)
    const own = new Map(blocks.map(c => [c.toString(), c]))
    for (const [key, cid] of own) {
      if (shared.has(key)) continue
      const freed = await store.delete(cid)
      if (freed > 0) {
        chunksRemoved++
        bytesFreed += freed
      }
    }
    bytesFreed += await store.delete(contentId)
  }
  // a provide that was in flight may have written the record again meanwhile
  await host.stopProviding(contentId)
  await host.gossipNow?.()
  return { held: recorded || manifestHeld || chunksRemoved > 0, chunksRemoved, bytesFreed }
}

/** The blocks named by every other manifest in the store, as CID strings (raw CIDv1, as manifests name them). */
async function blocksOfOtherContents (store: BlockStore, contentId: CID): Promise<Set<string>> {
  const keep = new Set<string>()
  const self = contentId.toV1().toString()
  for await (const cid of store.cids({ codec: DAG_CBOR_CODEC })) {
    if (cid.toString() === self) continue
    const bytes = await store.get(cid)
    if (bytes == null) continue
    try {
      for (const b of manifestBlocks(decodeManifest(bytes))) keep.add(b.toString())
    } catch {
      // not a manifest of ours
    }
  }
  return keep
}
