import { BlockRefusedError, type SwarmSession, type SwarmSessions } from '@codio/exchange'
import type { Logger } from '@codio/telemetry'
import { UnsupportedProtocolError, type PeerId } from '@libp2p/interface'
import type { Admission } from './admission.js'
import type { SwarmChoking } from './choking.js'
import { sessionWith, type ContentSwarm, type RemoteState } from './content-swarm.js'
import { remoteHas, remoteState, updateInterest } from './interest.js'
import type { PeerExchange } from './peer-exchange.js'
import type { SuperSeeding } from './seeding.js'

export interface SessionLifecycleInit {
  /** This node's peer ID: of two sessions with one peer, both keep the one the smaller ID opened. */
  selfId?: string
}

export interface SessionLifecycleComponents {
  sessions: Pick<SwarmSessions, 'open'>
  admission: Pick<Admission, 'opened' | 'closed'>
  choking: Pick<SwarmChoking, 'met' | 'joined' | 'rechoke'>
  seeding: Pick<SuperSeeding, 'joined' | 'had' | 'left'>
  pex: Pick<PeerExchange, 'joined' | 'left' | 'heardOf'>
  log: Logger
}

/**
 * The lifecycle of the sessions of a content's swarm (BEP 3 peer wire): opening one per peer,
 * joining it to the swarm — one per peer pair, its bitfield and `have`s fed to interest, the
 * super-seed and the download, its chokes to the download, its peer exchange passed on — and
 * leaving when it closes, or closing it once both ends are seeds.
 */
export class SessionLifecycle {
  /** session opens in flight, by content and peer ID */
  private readonly connecting = new Set<string>()

  constructor (private readonly components: SessionLifecycleComponents, private readonly init: SessionLifecycleInit = {}) {}

  /**
   * Open a session with `peer` about `swarm`'s content and add it to the content's download
   * with its bitfield. A peer that does not speak the session protocol is added as holding
   * everything (a provider record says it does); one that holds nothing of it is skipped, and
   * so is one whose session fails otherwise (the next provider lookup tries it again).
   */
  async connect (swarm: ContentSwarm, peer: PeerId): Promise<void> {
    const dl = swarm.download
    if (dl == null) return
    const key = peer.toString()
    if (sessionWith(swarm, key) != null) return
    // lookups and peer exchange name the same peer many times within a moment: open once
    const opening = `${swarm.contentId.toString()}/${key}`
    if (this.connecting.has(opening)) return
    this.connecting.add(opening)
    try {
      const session = await this.components.sessions.open(peer, swarm.contentId, swarm.have.toBytes())
      if (this.join(swarm, session)) this.addToDownload(swarm, session)
    } catch (err: any) {
      if (err instanceof BlockRefusedError) return
      if (err instanceof UnsupportedProtocolError) {
        dl.addPeer(peer, 'all')
        return
      }
      // a timeout or a dropped connection: what it holds is unknown, so it is not asked until
      // the next provider lookup brings it back and a session opens
      this.components.log.debug({ peer: peer.toString(), err: err.message }, 'session failed')
    } finally {
      this.connecting.delete(opening)
    }
  }

  /**
   * Add a session to the content's swarm. Two peers that open sessions with each other at the
   * same moment end up with two: both keep the one opened by the peer with the smaller ID and
   * close the other. Returns false when `session` is the one closed.
   */
  join (swarm: ContentSwarm, session: SwarmSession): boolean {
    const { admission, choking, seeding, pex } = this.components
    const key = session.peer.toString()
    const twin = sessionWith(swarm, key)
    if (twin != null && this.opener(twin) <= this.opener(session)) {
      session.close()
      return false
    }
    swarm.sessions.add(session)
    // the twin's close finds this session in place, so the peer stays in the download
    twin?.close()
    const seeded = swarm.seeder != null
    admission.opened(key, seeded)
    choking.met(key)
    const remote = remoteState(swarm, session.remoteBitfield)
    swarm.remote.set(session, remote)
    seeding.joined(swarm, session, remote.chunks)
    session.listen({
      onHave: indexes => {
        for (const i of indexes) {
          remoteHas(swarm, session, remote, i)
          swarm.download?.have(session.peer, i)
          seeding.had(swarm, session, i)
        }
        this.closeIfDone(swarm, session, remote)
      },
      onChoke: choked => swarm.download?.setChoked(session.peer, choked),
      onInterest: () => { choking.rechoke() },
      onPeerExchange: added => { pex.heardOf(swarm, added) },
      onClose: () => {
        if (!swarm.sessions.delete(session)) return
        swarm.remote.delete(session)
        seeding.left(swarm, session)
        admission.closed(key, seeded)
        pex.left(swarm, session)
        if (sessionWith(swarm, key) == null) swarm.download?.removePeer(session.peer)
        choking.rechoke()
      }
    })
    choking.joined(swarm, session, key)
    pex.joined(swarm, session)
    return true
  }

  /** Add a joined session's peer to the content's download, with what it holds. */
  addToDownload (swarm: ContentSwarm, session: SwarmSession): void {
    const dl = swarm.download
    if (dl == null) return
    const remote = swarm.remote.get(session)
    if (remote == null) return
    // what join() tracks, `have`s since the handshake included
    dl.addPeer(session.peer, remote.chunks.isFull() ? 'all' : remote.chunks.clone())
    updateInterest(swarm, session, remote)
  }

  /**
   * Close a session once both ends hold the whole content and we fetch nothing: two seeds
   * have nothing to trade (BitTorrent clients drop seed-to-seed connections). Without this a
   * node keeps one session per content per peer forever, and past the peer's session limit
   * (`[limits] maxSessionsPerPeer`, 256) it refuses the next content's session.
   */
  closeIfDone (swarm: ContentSwarm, session: SwarmSession, remote: RemoteState): void {
    if (swarm.download == null && swarm.have.isFull() && remote.chunks.isFull()) session.close()
  }

  /** Who opened `session`: this node or the remote. */
  private opener (session: SwarmSession): string {
    return session.outbound ? this.init.selfId ?? '' : session.peer.toString()
  }
}
