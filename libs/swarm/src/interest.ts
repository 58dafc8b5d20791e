import type { SwarmSession } from '@codio/exchange'
import { Bitfield } from '@codio/bitfield'
import type { ContentSwarm, RemoteState } from './content-swarm.js'

/*
 * Interest (BEP 3): we are interested in a session peer exactly while we fetch the content
 * and the peer holds a chunk we lack. `RemoteState.wanted` counts those chunks, so each `have`
 * either way costs O(1) instead of a bitfield comparison.
 */

/** A session peer's state from its handshake bitfield: its chunks, and how many `swarm` lacks. */
export function remoteState (swarm: ContentSwarm, remoteBitfield: Uint8Array): RemoteState {
  const remote: RemoteState = { chunks: Bitfield.fromBytes(swarm.have.size, remoteBitfield), wanted: 0 }
  for (let i = remote.chunks.nextSet(0); i >= 0; i = remote.chunks.nextSet(i + 1)) if (!swarm.have.has(i)) remote.wanted++
  return remote
}

/** Tell `session`'s peer whether we are interested in it. */
export function updateInterest (swarm: ContentSwarm, session: SwarmSession, remote: RemoteState): void {
  session.setInterested(swarm.download != null && remote.wanted > 0)
}

/** The peer announced chunk `index` (a `have`): the first chunk it holds that we lack makes it interesting. */
export function remoteHas (swarm: ContentSwarm, session: SwarmSession, remote: RemoteState, index: number): void {
  if (index >= swarm.have.size || remote.chunks.has(index)) return
  remote.chunks.set(index)
  if (!swarm.have.has(index) && ++remote.wanted === 1) updateInterest(swarm, session, remote)
}

/** We now hold chunk `index`: peers that held nothing else we lacked stop being interesting. */
export function weHave (swarm: ContentSwarm, index: number): void {
  for (const [s, remote] of swarm.remote) {
    if (remote.chunks.has(index) && --remote.wanted === 0) updateInterest(swarm, s, remote)
  }
}

/** The content's download ended: nobody is interesting any more. */
export function loseInterest (swarm: ContentSwarm): void {
  for (const s of swarm.sessions) s.setInterested(false)
}
