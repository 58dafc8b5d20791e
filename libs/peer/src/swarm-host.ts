import { decodeManifest, RAW_CODEC } from '@codio/content'
import { FairQueue, PeerRates, TokenBucket } from '@codio/bandwidth'
import { Choker, type ChokeDecision, type ChokerPeer } from '@codio/choker'
import { BlockRefusedError, MAX_PEX_PEERS, type PexEntry, type SessionHost, type SwarmSession, type SwarmSessions } from '@codio/exchange'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import * as Digest from 'multiformats/hashes/digest'
import { RefusalCode } from '@codio/proto'
import type { BlockStore } from '@codio/store'
import { Bitfield, SuperSeeder, type Download } from '@codio/swarm'
import type { Logger } from '@codio/telemetry'
import { UnsupportedProtocolError, type IdentifyResult, type PeerId } from '@libp2p/interface'
import type { P2PNode } from '@codio/p2p'
import type { CID } from 'multiformats/cid'

/**
 * How often a super-seed looks for isolated peers to feed, and for holders that stopped
 * counting (hoarders: see SuperSeeder) whose chunks go to the others (ms).
 */
const SEED_TICK_MS = 250

/**
 * How often session peers hear of the peers that joined or left a content's swarm (ms). BEP 11
 * asks for at most one message a minute; a CDN swarm forms within seconds of a publish, and
 * the peers a newcomer does not hear of in that time cost it seconds of lookups.
 */
export const PEX_INTERVAL_MS = 1000

/** Sessions per content beyond which peers named by peer exchange are no longer dialled. */
export const PEX_MAX_SWARM_PEERS = 50

/** Longest wait for identify to tell a new peer's listen addresses before naming it without (ms). */
export const PEX_IDENTIFY_WAIT_MS = 5000

/**
 * The binary multiaddrs `peer` listens on, from the peer store. A session often arrives on a
 * connection whose identify exchange has not finished (and an inbound connection's remote
 * address is an ephemeral port nobody can dial), so with none known yet this waits for the
 * peer's `peer:identify` event, at most `waitMs`.
 */
export async function listenAddresses (node: P2PNode<any>, peer: PeerId, waitMs = PEX_IDENTIFY_WAIT_MS): Promise<Uint8Array[]> {
  let onIdentify: ((evt: CustomEvent<IdentifyResult>) => void) | undefined
  const identified = new Promise<void>(resolve => {
    onIdentify = evt => { if (evt.detail.peerId.equals(peer)) resolve() }
    node.addEventListener('peer:identify', onIdentify)
  })
  const read = async (): Promise<Uint8Array[]> => (await node.peerStore.get(peer).catch(() => undefined))?.addresses.map(a => a.multiaddr.bytes) ?? []
  let timer: NodeJS.Timeout | undefined
  try {
    const known = await read()
    if (known.length > 0) return known
    await Promise.race([identified, new Promise(resolve => { timer = setTimeout(resolve, waitMs) })])
    return await read()
  } finally {
    clearTimeout(timer)
    node.removeEventListener('peer:identify', onIdentify)
  }
}

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

/** What peer exchange needs from the node: addresses to pass on, and what to do with the peers heard of. */
export interface PeerExchangeHooks {
  /** Binary multiaddrs `peer` listens on, as far as we know; empty when unknown. */
  addresses(peer: PeerId): Promise<Uint8Array[]>
  /** A session peer named these peers of the swarm of `contentId`, which we are fetching. */
  learned(contentId: CID, peers: Array<{ id: PeerId, multiaddrs: Multiaddr[] }>): void
}

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
   * A super-seed's upload budget in copies of the content, ≥ 1 (SuperSeeder `maxCopies`): 1
   * sends each chunk once unless its holders leave; more buys time for seed upload.
   */
  superSeedCopies: number
  /**
   * How long a peer gets nothing from anyone else before a super-seed feeds it like a plain
   * seed (SuperSeeder `isolationMs`, ms; default DEFAULT_SUPER_SEED_ISOLATION_MS). Not a
   * configuration key: a tuning and test hook.
   */
  superSeedIsolationMs?: number
  /**
   * Peer exchange (BEP 11): name each session peer the other peers of the content's swarm, and
   * open sessions with the peers they name while fetching it.
   */
  peerExchange: boolean
}

/** The {@link SwarmPolicy} fields {@link SwarmHost.reconfigure} changes on a running node. */
export const LIVE_SWARM_POLICY_KEYS = ['maxUploadRate', 'maxDownloadRate', 'regularUnchokeSlots', 'optimisticUnchokeSlots', 'unchokeInterval', 'optimisticUnchokeInterval'] as const
export type LiveSwarmPolicyKey = typeof LIVE_SWARM_POLICY_KEYS[number]

/** What a session peer holds of a content, and how many of those chunks we lack. */
interface RemoteState {
  chunks: Bitfield
  wanted: number
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
  private pexTimer?: NodeJS.Timeout
  /** listen addresses of session peers, looked up once per peer for peer exchange */
  private readonly pexAddresses = new Map<string, Uint8Array[]>()

  /** session opens in flight, by content and peer ID */
  private readonly connecting = new Set<string>()
  private readonly pex?: PeerExchangeHooks
  private readonly selfId?: string
  private readonly streams?: (peer: PeerId) => boolean

  constructor (private readonly store: BlockStore, private readonly sessions: SwarmSessions, readonly policy: SwarmPolicy, private readonly log: Logger, options: SwarmHostOptions = {}) {
    this.pex = options.pex
    this.streams = options.streams
    this.selfId = options.peerId?.toString()
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
    if (this.policy.peerExchange && this.pex != null) {
      this.pexTimer = setInterval(() => {
        for (const c of this.contents.values()) {
          if (!c.pexChanged) continue
          c.pexChanged = false
          for (const s of c.sessions) this.exchangePeers(c, s)
        }
      }, PEX_INTERVAL_MS)
      this.pexTimer.unref()
    }
  }

  stop (): void {
    clearInterval(this.seedTimer)
    clearInterval(this.pexTimer)
    this.choker.stop()
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
    for (const key of ['maxUploadRate', 'maxDownloadRate'] as const) {
      const v = change[key]
      if (v !== undefined && (typeof v !== 'number' || Number.isNaN(v) || v < 0)) throw new RangeError(`${key} must be a number of bytes/s ≥ 0, got ${String(v)}`)
    }
    this.choker.reconfigure({
      regularSlots: change.regularUnchokeSlots,
      optimisticSlots: change.optimisticUnchokeSlots,
      unchokeIntervalMs: change.unchokeInterval,
      optimisticIntervalMs: change.optimisticUnchokeInterval
    })
    for (const key of LIVE_SWARM_POLICY_KEYS) {
      const v = change[key]
      if (v !== undefined) this.policy[key] = v
    }
    if (change.maxUploadRate !== undefined) this.upload.setRate(change.maxUploadRate)
    if (change.maxDownloadRate !== undefined) this.download.setRate(change.maxDownloadRate)
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
    // a peer that contacts us about content we are fetching is a source too
    if (this.join(swarm, session) && swarm.download != null) this.addToDownload(swarm, session)
  }

  /**
   * Take part in `contentId`'s swarm with `download`: our bitfield is what the store holds of
   * its `chunks`; sessions opened to and from peers feed the download.
   */
  async attach (contentId: CID, chunks: CID[], download: Download): Promise<void> {
    const have = new Bitfield(chunks.length)
    // a few lookups at a time: one after another, 1 000 chunks cost 1 000 event-loop turns
    const ATTACH_CONCURRENCY = 16
    for (let from = 0; from < chunks.length; from += ATTACH_CONCURRENCY) {
      const held = await Promise.all(chunks.slice(from, from + ATTACH_CONCURRENCY).map(async c => await this.store.has(c)))
      held.forEach((h, j) => { if (h) have.set(from + j) })
    }
    const swarm = this.swarmOf(contentId, have)
    swarm.download = download
    swarm.seeder = undefined
    for (const s of swarm.sessions) this.addToDownload(swarm, s)
    download.done.then(() => this.detach(contentId, download), () => this.detach(contentId, download))
  }

  private detach (contentId: CID, download: Download): void {
    const swarm = this.contents.get(contentId.toString())
    // gone (purged), or another download took its place since
    if (swarm == null || swarm.download !== download) return
    swarm.download = undefined
    for (const s of swarm.sessions) s.setInterested(false)
    for (const [s, remote] of swarm.remote) this.closeIfDone(swarm, s, remote)
  }

  /**
   * Close a session once both ends hold the whole content and we fetch nothing: two seeds
   * have nothing to trade (BitTorrent clients drop seed-to-seed connections). Without this a
   * node keeps one session per content per peer forever, and past the peer's session limit
   * (`[limits] maxSessionsPerPeer`, 256) it refuses the next content's session.
   */
  private closeIfDone (swarm: ContentSwarm, session: SwarmSession, remote: RemoteState): void {
    if (swarm.download == null && swarm.have.isFull() && remote.chunks.isFull()) session.close()
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
    if (sessionWith(swarm, key) != null) return
    // lookups and peer exchange name the same peer many times within a moment: open once
    const opening = `${contentId.toString()}/${key}`
    if (this.connecting.has(opening)) return
    this.connecting.add(opening)
    try {
      const session = await this.sessions.open(peer, contentId, swarm.have.toBytes())
      if (this.join(swarm, session)) this.addToDownload(swarm, session)
    } catch (err: any) {
      if (err instanceof BlockRefusedError) return
      if (err instanceof UnsupportedProtocolError) {
        dl.addPeer(peer, 'all')
        return
      }
      // a timeout or a dropped connection: what it holds is unknown, so it is not asked until
      // the next provider lookup brings it back and a session opens
      this.log.debug({ peer: peer.toString(), err: err.message }, 'session failed')
    } finally {
      this.connecting.delete(opening)
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
    for (const [s, remote] of swarm.remote) {
      if (remote.chunks.has(index) && --remote.wanted === 0) this.updateInterest(swarm, s, remote)
    }
  }

  /** Interested in a session peer exactly while fetching and it holds a chunk we lack (BEP 3). */
  private updateInterest (swarm: ContentSwarm, session: SwarmSession, remote: RemoteState): void {
    session.setInterested(swarm.download != null && remote.wanted > 0)
  }

  /** Open swarm sessions about `contentId` (one per peer once simultaneous opens are settled). */
  sessionsOf (contentId: CID): number {
    return this.contents.get(contentId.toString())?.sessions.size ?? 0
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
      swarm = { contentId, have, sessions: new Set(), remote: new Map(), told: new Map(), pexChanged: false }
      if (this.policy.superSeeding && have.isFull() && have.size > 0) swarm.seeder = new SuperSeeder(have.size, { maxCopies: this.policy.superSeedCopies, isolationMs: this.policy.superSeedIsolationMs })
      this.contents.set(key, swarm)
    } else if (have.count() > swarm.have.count()) {
      swarm.have = have
    }
    return swarm
  }

  /**
   * Add a session to the content's swarm. Two peers that open sessions with each other at the
   * same moment end up with two: both keep the one opened by the peer with the smaller ID and
   * close the other. Returns false when `session` is the one closed.
   */
  private join (swarm: ContentSwarm, session: SwarmSession): boolean {
    const key = session.peer.toString()
    const twin = sessionWith(swarm, key)
    if (twin != null && this.opener(twin) <= this.opener(session)) {
      session.close()
      return false
    }
    swarm.sessions.add(session)
    // the twin's close finds this session in place, so the peer stays in the download
    twin?.close()
    this.sessionCount.set(key, (this.sessionCount.get(key) ?? 0) + 1)
    const seeded = swarm.seeder != null
    if (seeded) this.seedSessionCount.set(key, (this.seedSessionCount.get(key) ?? 0) + 1)
    if (!this.firstSeen.has(key)) this.firstSeen.set(key, Date.now())
    const remote: RemoteState = { chunks: Bitfield.fromBytes(swarm.have.size, session.remoteBitfield), wanted: 0 }
    for (let i = remote.chunks.nextSet(0); i >= 0; i = remote.chunks.nextSet(i + 1)) if (!swarm.have.has(i)) remote.wanted++
    swarm.remote.set(session, remote)
    swarm.seeder?.addPeer(session, remote.chunks, { inOrder: this.streams?.(session.peer) === true })
    session.listen({
      onHave: indexes => {
        for (const i of indexes) {
          if (i < swarm.have.size && !remote.chunks.has(i)) {
            remote.chunks.set(i)
            if (!swarm.have.has(i) && ++remote.wanted === 1) this.updateInterest(swarm, session, remote)
          }
          swarm.download?.have(session.peer, i)
          if (swarm.seeder != null) this.reveal(swarm.seeder.have(session, i))
        }
        this.closeIfDone(swarm, session, remote)
      },
      onChoke: choked => swarm.download?.setChoked(session.peer, choked),
      onInterest: () => this.rechoke(),
      onPeerExchange: added => this.heardOfPeers(swarm, added),
      onClose: () => {
        if (!swarm.sessions.delete(session)) return
        swarm.remote.delete(session)
        swarm.told.delete(session)
        swarm.pexChanged = true
        if (swarm.seeder != null) this.reveal(swarm.seeder.removePeer(session))
        decrement(this.sessionCount, key)
        if (!this.sessionCount.has(key)) this.pexAddresses.delete(key)
        if (seeded) decrement(this.seedSessionCount, key)
        if (sessionWith(swarm, key) == null) swarm.download?.removePeer(session.peer)
        this.rechoke()
      }
    })
    // a choked peer hears so at once; an unchoked one when the choker says
    if (!this.policy.choking || seeded || this.choker.isUnchoked(key)) this.setChoking(swarm, session, false)
    if (session.remoteInterested) this.rechoke()
    if (this.policy.peerExchange && this.pex != null) {
      // once its addresses are known, the newcomer hears of the swarm at once and the others
      // of it at the next round
      void this.pex.addresses(session.peer).then(addrs => {
        if (session.isClosed || !this.sessionCount.has(key)) return
        this.pexAddresses.set(key, addrs)
        swarm.pexChanged = true
        this.exchangePeers(swarm, session)
      }, () => {})
    }
    return true
  }

  /** Who opened `session`: this node or the remote. */
  private opener (session: SwarmSession): string {
    return session.outbound ? this.selfId ?? '' : session.peer.toString()
  }

  /**
   * Tell `session`'s peer which peers joined and left the swarm since we last told it (BEP 11:
   * at most {@link MAX_PEX_PEERS} of each; the rest go in later rounds). Only peers whose
   * addresses have been looked up are named.
   */
  private exchangePeers (swarm: ContentSwarm, session: SwarmSession): void {
    if (session.isClosed) return
    let told = swarm.told.get(session)
    if (told == null) swarm.told.set(session, told = new Map())
    const current = new Map<string, PeerId>()
    for (const s of swarm.sessions) {
      const k = s.peer.toString()
      if (!s.peer.equals(session.peer) && this.pexAddresses.has(k)) current.set(k, s.peer)
    }
    const added: PexEntry[] = []
    const dropped: Uint8Array[] = []
    let more = false
    for (const [k, peer] of current) {
      if (told.has(k)) continue
      if (added.length === MAX_PEX_PEERS) { more = true; break }
      told.set(k, peer)
      added.push({ peerId: peer.toMultihash().bytes, multiaddrs: this.pexAddresses.get(k) ?? [] })
    }
    for (const [k, peer] of told) {
      if (current.has(k)) continue
      if (dropped.length === MAX_PEX_PEERS) { more = true; break }
      told.delete(k)
      dropped.push(peer.toMultihash().bytes)
    }
    // what did not fit goes in the next round
    if (more) swarm.pexChanged = true
    session.sendPeerExchange(added, dropped)
  }

  /**
   * Peers a session peer named (BEP 11) while we fetch the content: passed on to be dialled,
   * up to {@link PEX_MAX_SWARM_PEERS} sessions. Entries that do not parse are skipped. The
   * `dropped` list is not needed: a session of ours with a peer that left ends by itself.
   */
  private heardOfPeers (swarm: ContentSwarm, added: PexEntry[]): void {
    if (!this.policy.peerExchange || this.pex == null || swarm.download == null) return
    const known = new Set([...swarm.sessions].map(s => s.peer.toString()))
    const peers: Array<{ id: PeerId, multiaddrs: Multiaddr[] }> = []
    for (const entry of added) {
      if (known.size + peers.length >= PEX_MAX_SWARM_PEERS) break
      try {
        const id = peerIdFromMultihash(Digest.decode(entry.peerId))
        if (known.has(id.toString())) continue
        peers.push({ id, multiaddrs: entry.multiaddrs.map(a => multiaddr(a)) })
      } catch {
        // a malformed entry names nobody we can reach
      }
    }
    if (peers.length > 0) this.pex.learned(swarm.contentId, peers)
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
    const remote = swarm.remote.get(session)
    if (remote == null) return
    // what join() tracks, `have`s since the handshake included
    dl.addPeer(session.peer, remote.chunks.isFull() ? 'all' : remote.chunks.clone())
    this.updateInterest(swarm, session, remote)
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

/** The session with peer `key` in a content's swarm, if any (one per peer: see `join`). */
function sessionWith (swarm: ContentSwarm, key: string): SwarmSession | undefined {
  for (const s of swarm.sessions) if (s.peer.toString() === key) return s
  return undefined
}

function decrement (counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1
  if (left > 0) counts.set(key, left)
  else counts.delete(key)
}
