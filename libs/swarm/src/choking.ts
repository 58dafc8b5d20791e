import type { PeerRates } from '@codio/bandwidth'
import { Choker, type ChokeDecision, type ChokerPeer } from '@codio/choker'
import type { SwarmSession } from '@codio/exchange'
import type { Logger } from '@codio/telemetry'
import type { ContentSwarm } from './content-swarm.js'
import type { SuperSeeding } from './seeding.js'
import type { LiveSwarmPolicyKey, SwarmPolicy } from './swarm-policy.js'

export type SwarmChokingInit = Pick<SwarmPolicy, 'choking' | 'regularUnchokeSlots' | 'optimisticUnchokeSlots' | 'unchokeInterval' | 'optimisticUnchokeInterval'>

export interface SwarmChokingComponents {
  /** the contents this node takes part in the swarm of */
  contents: ReadonlyMap<string, ContentSwarm>
  /** the rates each peer uploads to us and we upload to it (bytes/s) */
  rates: PeerRates
  /** told of every choke and unchoke, for a super-seed's reveals */
  seeding: Pick<SuperSeeding, 'choked'>
  log: Logger
}

/** The state of one peer over its sessions: choked unless some session is unchoked, interested if any is. */
export interface SessionPeerState { choked: boolean, interested: boolean }

/**
 * Choking (BEP 3 §choking) over the swarm's sessions: a {@link Choker} round of tit-for-tat
 * over the peers interested in our chunks, with the rates they upload to us (leeching) or we
 * upload to them (seeding), plus an optimistic unchoke — every interval, and at once when a
 * peer becomes interested or leaves. Sessions of super-seeded contents are never choked.
 */
export class SwarmChoking {
  readonly choker: Choker
  /** when each peer first held a session with us, for the choker's newcomer preference */
  private readonly firstSeen = new Map<string, number>()

  constructor (private readonly components: SwarmChokingComponents, private readonly init: SwarmChokingInit) {
    this.choker = new Choker({
      regularSlots: init.regularUnchokeSlots,
      optimisticSlots: init.optimisticUnchokeSlots,
      unchokeIntervalMs: init.unchokeInterval,
      optimisticIntervalMs: init.optimisticUnchokeInterval,
      onError: err => components.log.warn({ err: (err as Error).message }, 'choker failed')
    })
  }

  start (): void {
    if (this.init.choking) this.choker.start(() => this.input(), d => { this.apply(d) })
  }

  stop (): void {
    this.choker.stop()
  }

  /**
   * Change the choker's slots and intervals (it recomputes at once); fields left out keep
   * their value.
   *
   * @throws RangeError for a bad slot count or interval, changing nothing
   */
  reconfigure (change: Partial<Pick<SwarmPolicy, LiveSwarmPolicyKey>>): void {
    this.choker.reconfigure({
      regularSlots: change.regularUnchokeSlots,
      optimisticSlots: change.optimisticUnchokeSlots,
      unchokeIntervalMs: change.unchokeInterval,
      optimisticIntervalMs: change.optimisticUnchokeInterval
    })
  }

  isUnchoked (peer: string): boolean {
    return this.choker.isUnchoked(peer)
  }

  /** Peer `key` opened a session: the choker counts its time with us from its first. */
  met (key: string): void {
    if (!this.firstSeen.has(key)) this.firstSeen.set(key, Date.now())
  }

  /**
   * A session with peer `key` joined a swarm: a choked peer hears so at once (sessions start
   * choked), an unchoked one when the choker says; one that is already interested gets a
   * slot without waiting for the next round.
   */
  joined (swarm: ContentSwarm, session: SwarmSession, key: string): void {
    if (!this.init.choking || swarm.seeder != null || this.choker.isUnchoked(key)) this.setChoking(swarm, session, false)
    if (session.remoteInterested) this.rechoke()
  }

  /** Choke or unchoke a session peer; a super-seed reveals chunks to it once unchoked. */
  private setChoking (swarm: ContentSwarm, session: SwarmSession, choke: boolean): void {
    session.setChoking(choke)
    this.components.seeding.choked(swarm, session, choke)
  }

  /** Recompute at once (a peer became interested or left): a free slot need not wait 10 s. */
  rechoke (): void {
    if (!this.init.choking) return
    try {
      const { peers, seeding } = this.input()
      this.apply(this.choker.recompute(peers, seeding))
    } catch (err: any) {
      this.components.log.warn({ err: err.message }, 'rechoke failed')
    }
  }

  /** Choke state per peer over the sessions of every content, or of those not super-seeded. */
  states (withSeeded: boolean): Map<string, SessionPeerState> {
    const out = new Map<string, SessionPeerState>()
    for (const c of this.components.contents.values()) {
      if (!withSeeded && c.seeder != null) continue
      for (const s of c.sessions) {
        const key = s.peer.toString()
        const prev = out.get(key)
        out.set(key, { choked: (prev?.choked ?? true) && s.amChoking, interested: (prev?.interested ?? false) || s.remoteInterested })
      }
    }
    return out
  }

  private input (): { peers: ChokerPeer[], seeding: boolean } {
    // super-seeded contents keep every peer unchoked; the choker shares the other slots
    const states = this.states(false)
    const { rates } = this.components
    const peers: ChokerPeer[] = [...states].map(([id, s]) => ({
      id,
      interested: s.interested,
      connectedAt: this.firstSeen.get(id) ?? Date.now(),
      downloadRate: rates.down(id),
      uploadRate: rates.up(id)
    }))
    const seeding = [...this.components.contents.values()].every(c => c.download == null)
    return { peers, seeding }
  }

  private apply (d: ChokeDecision): void {
    for (const c of this.components.contents.values()) {
      if (c.seeder != null) continue
      for (const s of c.sessions) this.setChoking(c, s, !d.unchoked.has(s.peer.toString()))
    }
  }
}
