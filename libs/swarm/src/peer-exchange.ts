import { MAX_PEX_PEERS, type PexEntry, type SwarmSession } from '@codio/exchange'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import * as Digest from 'multiformats/hashes/digest'
import type { IdentifyResult, Libp2p, PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { PEX_IDENTIFY_WAIT_MS, PEX_INTERVAL_MS, PEX_MAX_SWARM_PEERS } from './constants.js'
import type { ContentSwarm } from './content-swarm.js'
import type { SwarmPolicy } from './swarm-policy.js'

/** What peer exchange needs from the node: addresses to pass on, and what to do with the peers heard of. */
export interface PeerExchangeHooks {
  /** Binary multiaddrs `peer` listens on, as far as we know; empty when unknown. */
  addresses(peer: PeerId): Promise<Uint8Array[]>
  /** A session peer named these peers of the swarm of `contentId`, which we are fetching. */
  learned(contentId: CID, peers: Array<{ id: PeerId, multiaddrs: Multiaddr[] }>): void
}

/**
 * The binary multiaddrs `peer` listens on, from the peer store. A session often arrives on a
 * connection whose identify exchange has not finished (and an inbound connection's remote
 * address is an ephemeral port nobody can dial), so with none known yet this waits for the
 * peer's `peer:identify` event, at most `waitMs`.
 */
export async function listenAddresses (node: Pick<Libp2p, 'addEventListener' | 'removeEventListener' | 'peerStore'>, peer: PeerId, waitMs = PEX_IDENTIFY_WAIT_MS): Promise<Uint8Array[]> {
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

export type PeerExchangeInit = Pick<SwarmPolicy, 'peerExchange'>

export interface PeerExchangeComponents {
  /** the contents this node takes part in the swarm of */
  contents: ReadonlyMap<string, ContentSwarm>
  /** without them, no peer exchange */
  hooks?: PeerExchangeHooks
  /** whether any session with peer `key` is open, over all contents */
  hasSession(key: string): boolean
}

/**
 * Peer exchange (BEP 11): each session peer is told which peers joined and left the content's
 * swarm — every {@link PEX_INTERVAL_MS}, and at once when it joins — and the peers session
 * peers name are passed on to be dialled while we fetch the content.
 */
export class PeerExchange {
  private timer?: NodeJS.Timeout
  /** listen addresses of session peers, looked up once per peer */
  private readonly addresses = new Map<string, Uint8Array[]>()

  constructor (private readonly components: PeerExchangeComponents, private readonly init: PeerExchangeInit) {}

  private get enabled (): boolean {
    return this.init.peerExchange && this.components.hooks != null
  }

  start (): void {
    if (!this.enabled) return
    this.timer = setInterval(() => {
      for (const c of this.components.contents.values()) {
        if (!c.pexChanged) continue
        c.pexChanged = false
        for (const s of c.sessions) this.exchange(c, s)
      }
    }, PEX_INTERVAL_MS)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /**
   * `session` joined the swarm: once its peer's addresses are known, it hears of the swarm at
   * once and the others of it at the next round.
   */
  joined (swarm: ContentSwarm, session: SwarmSession): void {
    const { hooks, hasSession } = this.components
    if (!this.enabled || hooks == null) return
    const key = session.peer.toString()
    void hooks.addresses(session.peer).then(addrs => {
      if (session.isClosed || !hasSession(key)) return
      this.addresses.set(key, addrs)
      swarm.pexChanged = true
      this.exchange(swarm, session)
    }, () => {})
  }

  /** `session` left the swarm: the others hear so at the next round. */
  left (swarm: ContentSwarm, session: SwarmSession): void {
    swarm.told.delete(session)
    swarm.pexChanged = true
    const key = session.peer.toString()
    if (!this.components.hasSession(key)) this.addresses.delete(key)
  }

  /**
   * Peers a session peer named (BEP 11) while we fetch the content: passed on to be dialled,
   * up to {@link PEX_MAX_SWARM_PEERS} sessions. Entries that do not parse are skipped. The
   * `dropped` list is not needed: a session of ours with a peer that left ends by itself.
   */
  heardOf (swarm: ContentSwarm, added: PexEntry[]): void {
    const { hooks } = this.components
    if (!this.enabled || hooks == null || swarm.download == null) return
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
    if (peers.length > 0) hooks.learned(swarm.contentId, peers)
  }

  /**
   * Tell `session`'s peer which peers joined and left the swarm since we last told it (BEP 11:
   * at most {@link MAX_PEX_PEERS} of each; the rest go in later rounds). Only peers whose
   * addresses have been looked up are named.
   */
  private exchange (swarm: ContentSwarm, session: SwarmSession): void {
    if (session.isClosed) return
    let told = swarm.told.get(session)
    if (told == null) swarm.told.set(session, told = new Map())
    const current = new Map<string, PeerId>()
    for (const s of swarm.sessions) {
      const k = s.peer.toString()
      if (!s.peer.equals(session.peer) && this.addresses.has(k)) current.set(k, s.peer)
    }
    const added: PexEntry[] = []
    const dropped: Uint8Array[] = []
    let more = false
    for (const [k, peer] of current) {
      if (told.has(k)) continue
      if (added.length === MAX_PEX_PEERS) { more = true; break }
      told.set(k, peer)
      added.push({ peerId: peer.toMultihash().bytes, multiaddrs: this.addresses.get(k) ?? [] })
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
}
