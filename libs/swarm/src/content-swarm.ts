import type { SwarmSession } from '@codio/exchange'
import type { Bitfield } from '@codio/bitfield'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { Download } from './download.js'
import type { SuperSeeder } from './super-seed.js'

/** What a session peer holds of a content, and how many of those chunks we lack. */
export interface RemoteState {
  chunks: Bitfield
  wanted: number
}

/**
 * A content this node takes part in the swarm of: the per-content state the
 * {@link SwarmHost} owns and its parts (interest, choking, seeding, peer exchange) read.
 */
export interface ContentSwarm {
  contentId: CID
  /** the chunks we hold */
  have: Bitfield
  sessions: Set<SwarmSession>
  download?: Download
  /** set while the content is super-seeded (held whole, policy on) */
  seeder?: SuperSeeder<SwarmSession>
  /**
   * per session: the remote's chunks, and how many of them we lack — we are interested in a
   * peer exactly while that is above 0 (BEP 3), so its unchoke slots go to peers who ask
   */
  remote: Map<SwarmSession, RemoteState>
  /** peer exchange: the peers each session has been told of, by peer ID */
  told: Map<SwarmSession, Map<string, PeerId>>
  /** the swarm's sessions changed since the last peer exchange round */
  pexChanged: boolean
}

/** The session with peer `key` in a content's swarm, if any (one per peer: see `SessionLifecycle.join`). */
export function sessionWith (swarm: ContentSwarm, key: string): SwarmSession | undefined {
  for (const s of swarm.sessions) if (s.peer.toString() === key) return s
  return undefined
}
