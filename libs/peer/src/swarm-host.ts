import { decodeManifest, RAW_CODEC } from '@codio/content'
import { FairQueue, PeerRates, TokenBucket } from '@codio/bandwidth'
import { Choker, type ChokeDecision, type ChokerPeer } from '@codio/choker'
import type { SessionHost, SwarmSession, SwarmSessions } from '@codio/exchange'
import { RefusalCode } from '@codio/proto'
import type { BlockStore } from '@codio/store'
import { Bitfield, SuperSeeder, type Download } from '@codio/swarm'
import type { Logger } from '@codio/telemetry'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

/** How often a super-seed looks for isolated peers to feed (ms). */
const SEED_TICK_MS = 1000

/** Upload and download policy of one node (config `[swarm]`). */
export interface SwarmPolicy {
  /** Upload limit over all peers, bytes/s; 0 = unlimited. */
  maxUploadRate: number
  /** Download limit over all downloads, bytes/s; 0 = unlimited. */
  maxDownloadRate: number
  /** Tit-for-tat: refuse chunk requests (CHOKED) from peers not unchoked. */
  choking: boolean
  regularUnchokeSlots: number
  optimisticUnchokeSlots: number
  /** ms */
  unchokeInterval: number
  /** ms */
  optimisticUnchokeInterval: number
  /**
   * Super-seed (BEP 16) the contents held whole and not being fetched: peers see chunks
   * revealed a few at a time, the least spread first, so each leaves this node about once.
   */
  superSeeding: boolean
  /**
   * Copies of a chunk in the swarm (held or revealed) below which a super-seed still reveals
   * it: 1 sends each chunk once unless its holders leave; more buys time for seed upload.
   */
  superSeedCopies: number
}

/** A content this node takes part in the swarm of. */
interface ContentSwarm {
  contentId: CID
  /** the chunks we hold */
  have: Bitfield
  sessions: Set<SwarmSession>
  download?: Download
  /** set while the content is super-seeded (held whole, policy on) */
  seeder?: SuperSeeder<SwarmSession>
}

/**
 * The node side of the BEP 3 peer wire: answers session handshakes with what the store holds,
 * tells session peers `have` as chunks arrive, feeds their bitfields, `have`s and chokes to
 * the content's download, and runs the choker — tit-for-tat over the peers interested in our
 * chunks, with the rates they upload to us (leeching) or we upload to them (seeding), plus an
 * optimistic unchoke — enforced as CHOKED refusals of chunk requests. Also owns the node's
 * token buckets (upload and download limits) and per-peer rates.
 */
export class SwarmHost implements SessionHost {
  readonly rates = new PeerRates()
  readonly upload: TokenBucket
  /** the upload limit shared evenly between the peers we serve (SCFQ over {@link upload}) */
  readonly uploadQueue: FairQueue
  readonly download: TokenBucket
  readonly choker: Choker
  private readonly contents = new Map<string, ContentSwarm>()
  private readonly firstSeen = new Map<string, number>()
  /** open sessions per peer ID, for admission on every chunk request */
  private readonly sessionCount = new Map<string, number>()
  /** open sessions on super-seeded contents per peer ID: never choked */
  private readonly seedSessionCount = new Map<string, number>()
  private seedTimer?: NodeJS.Timeout

  constructor (private readonly store: BlockStore, private readonly sessions: SwarmSessions, readonly policy: SwarmPolicy, private readonly log: Logger) {
    this.upload = new TokenBucket({ rate: policy.maxUploadRate > 0 ? policy.maxUploadRate : Infinity })
    this.uploadQueue = new FairQueue(this.upload)
    this.download = new TokenBucket({ rate: policy.maxDownloadRate > 0 ? policy.maxDownloadRate : Infinity })
    this.choker = new Choker({
      regularSlots: policy.regularUnchokeSlots,
      optimisticSlots: policy.optimisticUnchokeSlots,
      unchokeIntervalMs: policy.unchokeInterval,
      optimisticIntervalMs: policy.optimisticUnchokeInterval,
      onError: err => this.log.warn({ err: (err as Error).message }, 'choker failed')
    })
    sessions.setHost(this)
  }

  start (): void {
    if (this.policy.choking) this.choker.start(() => this.chokerInput(), d => this.applyChokes(d))
    if (this.policy.superSeeding) {
      // super-seeds feed peers that get nothing from anyone else (their neighbours choke them)
      this.seedTimer = setInterval(() => {
        for (const c of this.contents.values()) if (c.seeder != null) this.reveal(c.seeder.tick())
      }, SEED_TICK_MS)
      this.seedTimer.unref()
    }
  }

  stop (): void {
    clearInterval(this.seedTimer)
    this.choker.stop()
    for (const c of this.contents.values()) for (const s of c.sessions) s.close()
    this.contents.clear()
  }

  /**
   * Whether to serve `cid` to `peer`. With choking on, chunks go only to unchoked peers among
   * those taking part in a swarm with us (holding a session). Manifests are always served (a
   * new edge must resolve content at once), and so are requests from peers without a session —
   * an edge's byte-range fetch is not a swarm download and must not wait for an unchoke.
   * Peers of a super-seeded content are never choked: the seed's reveals, not upload slots,
   * decide what each gets, and every peer should start with chunks to trade.
   */
  admit (peer: PeerId, cid: CID): RefusalCode | undefined {
    if (!this.policy.choking || cid.code !== RAW_CODEC) return undefined
    const key = peer.toString()
    if (this.choker.isUnchoked(key) || (this.sessionCount.get(key) ?? 0) === 0 || (this.seedSessionCount.get(key) ?? 0) > 0) return undefined
    return RefusalCode.CHOKED
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
    this.join(swarm, session)
    // a peer that contacts us about content we are fetching is a source too
    if (swarm.download != null) this.addToDownload(swarm, session)
  }

  /**
   * Take part in `contentId`'s swarm with `download`: our bitfield is what the store holds of
   * its `chunks`; sessions opened to and from peers feed the download.
   */
  async attach (contentId: CID, chunks: CID[], download: Download): Promise<void> {
    const have = new Bitfield(chunks.length)
    for (let i = 0; i < chunks.length; i++) if (await this.store.has(chunks[i])) have.set(i)
    const swarm = this.swarmOf(contentId, have)
    swarm.download = download
    swarm.seeder = undefined
    for (const s of swarm.sessions) this.addToDownload(swarm, s)
    download.done.then(() => this.detach(contentId), () => this.detach(contentId))
  }

  private detach (contentId: CID): void {
    const swarm = this.contents.get(contentId.toString())
    if (swarm == null) return
    swarm.download = undefined
    for (const s of swarm.sessions) if (s.outbound) s.setInterested(false)
  }

  /**
   * Open a session with `peer` about `contentId` and add it to the content's download with its
   * bitfield. A peer that does not speak the session protocol is added as holding everything
   * (a provider record says it does); one that holds nothing of it is skipped, and so is one
   * whose session fails otherwise (the next provider lookup tries it again).
   */
  async connect (peer: PeerId, contentId: CID): Promise<void> {
    const swarm = this.contents.get(contentId.toString())
    const dl = swarm?.download
    if (swarm == null || dl == null) return
    const key = peer.toString()
    for (const s of swarm.sessions) if (s.peer.toString() === key) return
    try {
      const session = await this.sessions.open(peer, contentId, swarm.have.toBytes())
      this.join(swarm, session)
      this.addToDownload(swarm, session)
    } catch (err: any) {
      if (err.name === 'BlockRefusedError') return
      if (err.name === 'UnsupportedProtocolError') {
        dl.addPeer(peer, 'all')
        return
      }
      // a timeout or a dropped connection: what it holds is unknown, so it is not asked until
      // the next provider lookup brings it back and a session opens
      this.log.debug({ peer: peer.toString(), err: err.message }, 'session failed')
    }
  }

  /**
   * What this node holds, for the tracker's availability gossip: every complete content, and
   * the chunks of those being fetched (BEP 3 bitfields).
   */
  async holdings (): Promise<Array<{ contentId: string, chunkCount: number, complete?: boolean, bitfield?: Uint8Array }>> {
    const out = new Map<string, { contentId: string, chunkCount: number, complete?: boolean, bitfield?: Uint8Array }>()
    for (const cid of await this.store.listContents()) {
      await this.bitfield(cid) // caches the chunk count
      const swarm = this.contents.get(cid.toString())
      if (swarm != null) out.set(cid.toString(), { contentId: cid.toString(), chunkCount: swarm.have.size, complete: true })
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
  }

  /** Choke state of every peer we hold a session with, for statistics. */
  peerStates (): Map<string, { choked: boolean, interested: boolean }> {
    return this.sessionStates(true)
  }

  /** Choke state per peer over the sessions of every content, or of those not super-seeded. */
  private sessionStates (withSeeded: boolean): Map<string, { choked: boolean, interested: boolean }> {
    const out = new Map<string, { choked: boolean, interested: boolean }>()
    for (const c of this.contents.values()) {
      if (!withSeeded && c.seeder != null) continue
      for (const s of c.sessions) {
        const key = s.peer.toString()
        const prev = out.get(key)
        out.set(key, { choked: (prev?.choked ?? true) && s.amChoking, interested: (prev?.interested ?? false) || s.remoteInterested })
      }
    }
    return out
  }

  private swarmOf (contentId: CID, have: Bitfield): ContentSwarm {
    const key = contentId.toString()
    let swarm = this.contents.get(key)
    if (swarm == null) {
      swarm = { contentId, have, sessions: new Set() }
      if (this.policy.superSeeding && have.isFull() && have.size > 0) swarm.seeder = new SuperSeeder(have.size, { maxCopies: this.policy.superSeedCopies })
      this.contents.set(key, swarm)
    } else if (have.count() > swarm.have.count()) {
      swarm.have = have
    }
    return swarm
  }

  private join (swarm: ContentSwarm, session: SwarmSession): void {
    swarm.sessions.add(session)
    const key = session.peer.toString()
    this.sessionCount.set(key, (this.sessionCount.get(key) ?? 0) + 1)
    const seeded = swarm.seeder != null
    if (seeded) this.seedSessionCount.set(key, (this.seedSessionCount.get(key) ?? 0) + 1)
    if (!this.firstSeen.has(key)) this.firstSeen.set(key, Date.now())
    swarm.seeder?.addPeer(session, Bitfield.fromBytes(swarm.have.size, session.remoteBitfield))
    session.listen({
      onHave: indexes => {
        for (const i of indexes) {
          swarm.download?.have(session.peer, i)
          if (swarm.seeder != null) this.reveal(swarm.seeder.have(session, i))
        }
      },
      onChoke: choked => swarm.download?.setChoked(session.peer, choked),
      onInterest: () => this.rechoke(),
      onClose: () => {
        if (!swarm.sessions.delete(session)) return
        if (swarm.seeder != null) this.reveal(swarm.seeder.removePeer(session))
        decrement(this.sessionCount, key)
        if (seeded) decrement(this.seedSessionCount, key)
        swarm.download?.removePeer(session.peer)
        this.rechoke()
      }
    })
    // a choked peer hears so at once; an unchoked one when the choker says
    if (!this.policy.choking || seeded || this.choker.isUnchoked(key)) this.setChoking(swarm, session, false)
    if (session.remoteInterested) this.rechoke()
  }

  /** Choke or unchoke a session peer; a super-seed reveals chunks to it once unchoked. */
  private setChoking (swarm: ContentSwarm, session: SwarmSession, choke: boolean): void {
    session.setChoking(choke)
    if (swarm.seeder == null) return
    if (choke) swarm.seeder.choke(session)
    else this.reveal(new Map([[session, swarm.seeder.unchoke(session)]]))
  }

  /** Send a super-seed's reveals (BEP 16) as `have`s. */
  private reveal (reveals: Map<SwarmSession, number[]>): void {
    for (const [session, indexes] of reveals) if (indexes.length > 0 && !session.isClosed) session.sendHave(indexes)
  }

  private addToDownload (swarm: ContentSwarm, session: SwarmSession): void {
    const dl = swarm.download
    if (dl == null) return
    const theirs = Bitfield.fromBytes(swarm.have.size, session.remoteBitfield)
    dl.addPeer(session.peer, theirs.isFull() ? 'all' : theirs)
    session.setInterested(true)
  }

  private chokerInput (): { peers: ChokerPeer[], seeding: boolean } {
    // super-seeded contents keep every peer unchoked; the choker shares the other slots
    const states = this.sessionStates(false)
    const peers: ChokerPeer[] = [...states].map(([id, s]) => ({
      id,
      interested: s.interested,
      connectedAt: this.firstSeen.get(id) ?? Date.now(),
      downloadRate: this.rates.down(id),
      uploadRate: this.rates.up(id)
    }))
    const seeding = [...this.contents.values()].every(c => c.download == null)
    return { peers, seeding }
  }

  /** Recompute at once (a peer became interested or left): a free slot need not wait 10 s. */
  private rechoke (): void {
    if (!this.policy.choking) return
    try {
      const { peers, seeding } = this.chokerInput()
      this.applyChokes(this.choker.recompute(peers, seeding))
    } catch (err: any) {
      this.log.warn({ err: err.message }, 'rechoke failed')
    }
  }

  private applyChokes (d: ChokeDecision): void {
    for (const c of this.contents.values()) {
      if (c.seeder != null) continue
      for (const s of c.sessions) this.setChoking(c, s, !d.unchoked.has(s.peer.toString()))
    }
  }
}

function decrement (counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1
  if (left > 0) counts.set(key, left)
  else counts.delete(key)
}
