import { setTimeout as sleep } from 'node:timers/promises'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'
import type { P2PNode } from '@codio/p2p'
import type { DhtManager } from '@codio/dht'

/** First pause before a DHT walk that found nobody is repeated (ms); it doubles up to {@link LOOKUP_RETRY_MAX_MS}. */
export const LOOKUP_RETRY_MS = 250
export const LOOKUP_RETRY_MAX_MS = 2000
/** At most this many connected peers are asked whether they hold a content (want-have). */
export const CONNECTED_PROBE_MAX = 32
/** How long the connected peers' answers are awaited before the DHT walk starts anyway (ms). */
export const CONNECTED_PROBE_MS = 500

/**
 * A faster source of providers than the DHT (the tracker): peers with their multiaddrs, or
 * `undefined` when it is slow or unreachable.
 */
export interface ProviderSource {
  select(cid: CID, signal: AbortSignal): Promise<Array<{ id: PeerId, multiaddrs: Multiaddr[] }> | undefined>
}

/**
 * The peers we are connected to, and a way to ask one whether it holds a block (the chunk
 * exchange's want-have).
 */
export interface ConnectedPeers {
  peers(): PeerId[]
  has(peer: PeerId, cid: CID, signal: AbortSignal): Promise<boolean>
}

export interface ProviderSearchSources {
  /** Asked first: the tracker. */
  tracker?: ProviderSource
  /** Asked next, before any DHT walk: the peers we are already connected to. */
  connected?: ConnectedPeers
  /** Peers never to name, whatever source names them (banned peers). Asked as each is found. */
  excluded?: (peer: PeerId) => boolean
}

/**
 * One running provider lookup whose results several consumers can follow while it is still
 * running: the manifest fetch takes the first provider, the download takes all of them. With
 * a {@link ProviderSource} (the tracker) it asks that first and uses its peers. Next it asks
 * up to {@link CONNECTED_PROBE_MAX} peers it is already connected to whether they hold the
 * content, as Bitswap broadcasts WANT_HAVE before it searches the DHT (go-bitswap's
 * `provSearchDelay`): a peer a hop away that holds it, or fetches it too, is a provider found
 * in one round trip, and every swarm peer beyond it follows by peer exchange. Only when
 * neither found any does it walk the DHT (Kademlia paper §2.3; libp2p kad-dht
 * GET_PROVIDERS), again and again with backoff until it finds a provider or its time limit
 * runs out.
 */
export class ProviderSearch {
  readonly found: PeerId[] = []
  private finished = false
  private readonly listeners = new Set<() => void>()
  private readonly controller = new AbortController()

  /** Where the providers came from: `'tracker'`, `'connected'`, `'dht'`, or undefined while still looking. */
  source?: 'tracker' | 'connected' | 'dht'
  private readonly tracker?: ProviderSource
  private readonly connected?: ConnectedPeers
  private readonly excluded?: (peer: PeerId) => boolean

  constructor (private readonly node: P2PNode<any>, private readonly dht: Pick<DhtManager, 'findProviders'>, readonly cid: CID, timeoutMs: number, signal?: AbortSignal, sources: ProviderSearchSources = {}) {
    this.tracker = sources.tracker
    this.connected = sources.connected
    this.excluded = sources.excluded
    const signals = [this.controller.signal, AbortSignal.timeout(timeoutMs)]
    if (signal != null) signals.push(signal)
    void this.run(AbortSignal.any(signals))
  }

  get done (): boolean {
    return this.finished
  }

  private async run (signal: AbortSignal): Promise<void> {
    const seen = new Set<string>([this.node.peerId.toString()])
    try {
      const selected = await this.tracker?.select(this.cid, signal).catch(() => undefined)
      for (const peer of selected ?? []) {
        const key = peer.id.toString()
        if (seen.has(key) || this.excluded?.(peer.id) === true) continue
        seen.add(key)
        if (peer.multiaddrs.length > 0) await this.node.peerStore.merge(peer.id, { multiaddrs: peer.multiaddrs }).catch(() => {})
        this.found.push(peer.id)
        this.source = 'tracker'
        this.notify()
      }
      if (this.found.length > 0) return
      if (this.connected != null) {
        await this.askConnected(seen, signal)
        if (this.found.length > 0) return
      }
      this.source = 'dht'
      // a walk that ends empty is tried again until the time limit: a content published a
      // moment ago may not be announced yet (its provider had no DHT peer to hold the record)
      for (let wait = LOOKUP_RETRY_MS; this.found.length === 0 && !signal.aborted; wait = Math.min(wait * 2, LOOKUP_RETRY_MAX_MS)) {
        for await (const info of this.dht.findProviders(this.cid, { signal })) {
          const key = info.id.toString()
          if (seen.has(key) || this.excluded?.(info.id) === true) continue
          seen.add(key)
          if (info.multiaddrs.length > 0) {
            await this.node.peerStore.merge(info.id, { multiaddrs: info.multiaddrs }).catch(() => {})
          }
          this.found.push(info.id)
          this.notify()
        }
        if (this.found.length === 0) await sleep(wait, undefined, { signal, ref: false })
      }
    } catch {
      // a lookup that times out or is aborted simply ends with what it found
    } finally {
      this.finished = true
      this.notify()
    }
  }

  /** Want-have to connected peers, in parallel; each that holds the content is a provider at once. */
  private async askConnected (seen: Set<string>, signal: AbortSignal): Promise<void> {
    const connected = this.connected!
    const candidates = shuffle(connected.peers().filter(p => !seen.has(p.toString()) && this.excluded?.(p) !== true)).slice(0, CONNECTED_PROBE_MAX)
    if (candidates.length === 0) return
    const probe = AbortSignal.any([signal, AbortSignal.timeout(CONNECTED_PROBE_MS)])
    await Promise.all(candidates.map(async peer => {
      // a peer that does not answer in time, or at all, simply is not one
      if (!(await connected.has(peer, this.cid, probe).catch(() => false)) || signal.aborted) return
      const key = peer.toString()
      if (seen.has(key)) return
      seen.add(key)
      this.found.push(peer)
      this.source = 'connected'
      this.notify()
    }))
  }

  private notify (): void {
    for (const l of this.listeners) l()
  }

  /** Stop the lookup early. */
  abort (): void {
    this.controller.abort()
  }

  /**
   * Every provider found so far and from now on, until the lookup ends.
   */
  async * providers (): AsyncGenerator<PeerId> {
    let i = 0
    while (true) {
      while (i < this.found.length) yield this.found[i++]
      if (this.finished) return
      await new Promise<void>(resolve => {
        const l = (): void => {
          this.listeners.delete(l)
          resolve()
        }
        this.listeners.add(l)
      })
    }
  }
}

function shuffle<T> (xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const t = xs[i]
    xs[i] = xs[j]
    xs[j] = t
  }
  return xs
}
