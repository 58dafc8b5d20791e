import { decodeManifest } from '@codio/content'
import type { FairQueue, PeerRates, TokenBucket } from '@codio/bandwidth'
import type { Choker } from '@codio/choker'
import type { SessionHost, SwarmSession, SwarmSessions } from '@codio/exchange'
import type { RefusalCode } from '@codio/proto'
import type { Logger } from '@codio/telemetry'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { Bitfield } from '@codio/bitfield'
import { Admission, checkRates } from './admission.js'
import { SwarmChoking, type SessionPeerState } from './choking.js'
import { ATTACH_CONCURRENCY } from './constants.js'
import type { ContentSwarm } from './content-swarm.js'
import type { Download } from './download.js'
import { loseInterest, weHave } from './interest.js'
import { PeerExchange, type PeerExchangeHooks } from './peer-exchange.js'
import { SuperSeeding } from './seeding.js'
import { SessionLifecycle } from './session-lifecycle.js'
import { LIVE_SWARM_POLICY_KEYS, type LiveSwarmPolicyKey, type SwarmPolicy } from './swarm-policy.js'

export interface SwarmHostOptions {
  /** This node's peer ID: of two sessions with one peer, both keep the one the smaller ID opened. */
  peerId?: PeerId
  pex?: PeerExchangeHooks
  /**
   * Whether `peer` streams what it fetches to a waiting reader (an edge): a super-seed reveals
   * it chunks in order (SuperSeeder `inOrder`). Default: no peer does.
   */
  streams?: (peer: PeerId) => boolean
}

/** What the swarm reads of the node's block store (a `BlockStore` of @codio/store). */
export interface SwarmStore {
  has(cid: CID): Promise<boolean>
  get(cid: CID): Promise<Uint8Array | undefined>
  /** whether the store holds the whole content `contentId` (manifest and chunks) */
  hasContent(contentId: CID): Promise<boolean>
  /** the contents held whole */
  listContents(): Promise<CID[]>
}

/** One entry of {@link SwarmHost.holdings}: a content complete, or the BEP 3 bitfield of one being fetched. */
export interface Holding {
  contentId: string
  chunkCount: number
  complete?: boolean
  bitfield?: Uint8Array
}

/**
 * The node side of the BEP 3 peer wire: answers session handshakes with what the store holds,
 * tells session peers `have` as chunks arrive, feeds their bitfields, `have`s and chokes to
 * the content's download, and runs the choker, super-seeding and peer exchange over them.
 *
 * This class is the conductor (js-libp2p's `KadDHT`): it owns the per-content swarm state and
 * wires the parts, each in its own file — {@link SessionLifecycle} (sessions, one per peer),
 * interest (BEP 3), {@link SwarmChoking} (tit-for-tat), {@link SuperSeeding} (BEP 16 reveals),
 * {@link PeerExchange} (BEP 11) and {@link Admission} (CHOKED refusals, rate limits).
 */
export class SwarmHost implements SessionHost {
  readonly rates: PeerRates
  readonly upload: TokenBucket
  /** the upload limit shared evenly between the peers we serve (SCFQ over {@link upload}) */
  readonly uploadQueue: FairQueue
  readonly download: TokenBucket
  readonly choker: Choker
  private readonly contents = new Map<string, ContentSwarm>()
  private readonly admission: Admission
  private readonly choking: SwarmChoking
  private readonly seeding: SuperSeeding
  private readonly pex: PeerExchange
  private readonly lifecycle: SessionLifecycle

  constructor (private readonly store: SwarmStore, sessions: SwarmSessions, readonly policy: SwarmPolicy, log: Logger, options: SwarmHostOptions = {}) {
    const { contents } = this
    const seeding = this.seeding = new SuperSeeding({ contents, streams: options.streams }, policy)
    const admission = this.admission = new Admission({ isUnchoked: peer => this.choking.isUnchoked(peer) }, policy)
    const choking = this.choking = new SwarmChoking({ contents, rates: admission.rates, seeding, log }, policy)
    const pex = this.pex = new PeerExchange({ contents, hooks: options.pex, hasSession: key => admission.hasSession(key) }, policy)
    this.lifecycle = new SessionLifecycle({ sessions, admission, choking, seeding, pex, log }, { selfId: options.peerId?.toString() })
    this.rates = admission.rates
    this.upload = admission.upload
    this.uploadQueue = admission.uploadQueue
    this.download = admission.download
    this.choker = choking.choker
    sessions.setHost(this)
  }

  start (): void {
    this.choking.start()
    this.seeding.start()
    this.pex.start()
  }

  stop (): void {
    this.seeding.stop()
    this.pex.stop()
    this.choking.stop()
    for (const c of this.contents.values()) for (const s of c.sessions) s.close()
    this.contents.clear()
  }

  /**
   * Apply a live policy change: the upload and download limits (bytes/s, 0 = unlimited; the
   * token buckets change rate at once, waiters re-timed) and the choker's slots and intervals
   * (it recomputes at once). Fields left out keep their value; all are checked before any
   * changes. `choking`, `superSeeding`, `superSeedCopies` and `peerExchange` are read at start.
   *
   * @throws RangeError for a negative rate or a bad slot count or interval, changing nothing
   */
  reconfigure (change: Partial<Pick<SwarmPolicy, LiveSwarmPolicyKey>>): void {
    checkRates(change)
    this.choking.reconfigure(change)
    for (const key of LIVE_SWARM_POLICY_KEYS) {
      const v = change[key]
      if (v !== undefined) this.policy[key] = v
    }
    this.admission.setRates(change)
  }

  /** Whether to serve `cid` to `peer`: see {@link Admission.admit}. */
  admit (peer: PeerId, cid: CID): RefusalCode | undefined {
    return this.admission.admit(peer, cid)
  }

  async bitfield (contentId: CID): Promise<Uint8Array | undefined> {
    let swarm = this.contents.get(contentId.toString())
    if (swarm == null) {
      if (!(await this.store.hasContent(contentId))) return undefined
      const bytes = await this.store.get(contentId)
      if (bytes == null) return undefined
      swarm = this.swarmOf(contentId, Bitfield.full(decodeManifest(bytes).chunks.length))
    }
    // a super-seed starts every peer with nothing and reveals chunks as `have`s
    return swarm.seeder != null ? new Bitfield(swarm.have.size).toBytes() : swarm.have.toBytes()
  }

  onInboundSession (session: SwarmSession): void {
    const swarm = this.contents.get(session.contentId.toString())
    if (swarm == null) {
      session.close()
      return
    }
    // a peer that contacts us about content we are fetching is a source too
    if (this.lifecycle.join(swarm, session) && swarm.download != null) this.lifecycle.addToDownload(swarm, session)
  }

  /**
   * Take part in `contentId`'s swarm with `download`: our bitfield is what the store holds of
   * its `chunks`; sessions opened to and from peers feed the download.
   */
  async attach (contentId: CID, chunks: CID[], download: Download): Promise<void> {
    const have = new Bitfield(chunks.length)
    for (let from = 0; from < chunks.length; from += ATTACH_CONCURRENCY) {
      const held = await Promise.all(chunks.slice(from, from + ATTACH_CONCURRENCY).map(async c => await this.store.has(c)))
      held.forEach((h, j) => { if (h) have.set(from + j) })
    }
    const swarm = this.swarmOf(contentId, have)
    swarm.download = download
    swarm.seeder = undefined
    for (const s of swarm.sessions) this.lifecycle.addToDownload(swarm, s)
    download.done.then(() => this.detach(contentId, download), () => this.detach(contentId, download))
  }

  private detach (contentId: CID, download: Download): void {
    const swarm = this.contents.get(contentId.toString())
    // gone (purged), or another download took its place since
    if (swarm == null || swarm.download !== download) return
    swarm.download = undefined
    loseInterest(swarm)
    for (const [s, remote] of swarm.remote) this.lifecycle.closeIfDone(swarm, s, remote)
  }

  /**
   * Leave `contentId`'s swarm (it was purged): its sessions close and its state goes, so
   * {@link holdings} no longer names it and handshakes about it are refused unless the store
   * holds it again. Fail its download first. A no-op for a content not in a swarm here.
   */
  forget (contentId: CID): void {
    const key = contentId.toString()
    const swarm = this.contents.get(key)
    if (swarm == null) return
    this.contents.delete(key)
    for (const s of [...swarm.sessions]) s.close()
  }

  /**
   * Open a session with `peer` about `contentId`, which we are fetching, and add it to the
   * content's download: see {@link SessionLifecycle.connect}. A no-op for a content not being fetched.
   */
  async connect (peer: PeerId, contentId: CID): Promise<void> {
    const swarm = this.contents.get(contentId.toString())
    if (swarm != null) await this.lifecycle.connect(swarm, peer)
  }

  /**
   * What this node holds, for the tracker's availability gossip: every complete content, and
   * the chunks of those being fetched (BEP 3 bitfields).
   */
  async holdings (): Promise<Holding[]> {
    const out = new Map<string, Holding>()
    for (const cid of await this.store.listContents()) {
      await this.bitfield(cid) // caches the chunk count
      const swarm = this.contents.get(cid.toString())
      // a content of 0 chunks (stored before empty uploads were refused) has nothing to offer:
      // gossip about it would fail validation, so it is left out
      if (swarm != null && swarm.have.size > 0) out.set(cid.toString(), { contentId: cid.toString(), chunkCount: swarm.have.size, complete: true })
    }
    for (const [key, swarm] of this.contents) {
      if (out.has(key) || swarm.have.count() === 0) continue
      out.set(key, swarm.have.isFull()
        ? { contentId: key, chunkCount: swarm.have.size, complete: true }
        : { contentId: key, chunkCount: swarm.have.size, bitfield: swarm.have.toBytes() })
    }
    return [...out.values()]
  }

  /** We now hold chunk `index` of `contentId`: tell every session peer (BEP 3 `have`). */
  chunkStored (contentId: CID, index: number): void {
    const swarm = this.contents.get(contentId.toString())
    if (swarm == null || swarm.have.has(index)) return
    swarm.have.set(index)
    for (const s of swarm.sessions) s.sendHave([index])
    weHave(swarm, index)
  }

  /** Open swarm sessions about `contentId` (one per peer once simultaneous opens are settled). */
  sessionsOf (contentId: CID): number {
    return this.contents.get(contentId.toString())?.sessions.size ?? 0
  }

  /** Choke state of every peer we hold a session with, for statistics. */
  peerStates (): Map<string, SessionPeerState> {
    return this.choking.states(true)
  }

  private swarmOf (contentId: CID, have: Bitfield): ContentSwarm {
    const key = contentId.toString()
    let swarm = this.contents.get(key)
    if (swarm == null) {
      swarm = { contentId, have, sessions: new Set(), remote: new Map(), told: new Map(), pexChanged: false }
      swarm.seeder = this.seeding.seederFor(have)
      this.contents.set(key, swarm)
    } else if (have.count() > swarm.have.count()) {
      swarm.have = have
    }
    return swarm
  }
}
