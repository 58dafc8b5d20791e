import type { SwarmSession } from '@codio/exchange'
import type { Bitfield } from '@codio/bitfield'
import type { PeerId } from '@libp2p/interface'
import { SEED_TICK_MS } from './constants.js'
import type { ContentSwarm } from './content-swarm.js'
import { SuperSeeder } from './super-seed.js'
import type { SwarmPolicy } from './swarm-policy.js'

export type SuperSeedingInit = Pick<SwarmPolicy, 'superSeeding' | 'superSeedCopies' | 'superSeedIsolationMs'>

export interface SuperSeedingComponents {
  /** the contents this node takes part in the swarm of */
  contents: ReadonlyMap<string, ContentSwarm>
  /**
   * Whether `peer` streams what it fetches to a waiting reader (an edge): it is revealed
   * chunks in order (SuperSeeder `inOrder`). Default: no peer does.
   */
  streams?(peer: PeerId): boolean
}

/**
 * Super-seeding (BEP 16) of the contents held whole and not being fetched: one
 * {@link SuperSeeder} per such content decides which chunks each session peer is shown, and
 * this sends its reveals as `have`s — when a peer joins or is unchoked, when a holder
 * announces a chunk or leaves, and every {@link SEED_TICK_MS} for peers nobody else feeds.
 */
export class SuperSeeding {
  private timer?: NodeJS.Timeout

  constructor (private readonly components: SuperSeedingComponents, private readonly init: SuperSeedingInit) {}

  start (): void {
    if (!this.init.superSeeding) return
    // super-seeds feed peers that get nothing from anyone else (their neighbours choke them)
    this.timer = setInterval(() => {
      for (const c of this.components.contents.values()) if (c.seeder != null) this.reveal(c.seeder.tick())
    }, SEED_TICK_MS)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /** A seeder for a content of which we hold `have`, when it is to be super-seeded. */
  seederFor (have: Bitfield): SuperSeeder<SwarmSession> | undefined {
    if (!this.init.superSeeding || !have.isFull() || have.size === 0) return undefined
    return new SuperSeeder(have.size, { maxCopies: this.init.superSeedCopies, isolationMs: this.init.superSeedIsolationMs })
  }

  /** `session` joined a super-seeded swarm holding `chunks`. */
  joined (swarm: ContentSwarm, session: SwarmSession, chunks: Bitfield): void {
    swarm.seeder?.addPeer(session, chunks, { inOrder: this.components.streams?.(session.peer) === true })
  }

  /** `session`'s peer announced chunk `index`. */
  had (swarm: ContentSwarm, session: SwarmSession, index: number): void {
    if (swarm.seeder != null) this.reveal(swarm.seeder.have(session, index))
  }

  /** `session` left the swarm: what only it held goes to others. */
  left (swarm: ContentSwarm, session: SwarmSession): void {
    if (swarm.seeder != null) this.reveal(swarm.seeder.removePeer(session))
  }

  /** `session`'s peer was choked or unchoked: a super-seed reveals chunks to it once unchoked. */
  choked (swarm: ContentSwarm, session: SwarmSession, choke: boolean): void {
    if (swarm.seeder == null) return
    if (choke) swarm.seeder.choke(session)
    else this.reveal(new Map([[session, swarm.seeder.unchoke(session)]]))
  }

  /** Send a super-seed's reveals (BEP 16) as `have`s. */
  private reveal (reveals: Map<SwarmSession, number[]>): void {
    for (const [session, indexes] of reveals) if (indexes.length > 0 && !session.isClosed) session.sendHave(indexes)
  }
}
