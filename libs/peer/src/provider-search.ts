import { raceSignal } from '@codio/exchange'
import { setTimeout as sleep } from 'node:timers/promises'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'
import type { P2PNode } from '@codio/p2p'
import type { DhtManager } from '@codio/dht'
import { tracer, withActive, withSpan, type Span } from '@codio/tracing'

const searchTracer = tracer('@codio/peer')

/** First pause before a DHT walk that found nobody is repeated (ms); it doubles up to {@link LOOKUP_RETRY_MAX_MS}. */
export const LOOKUP_RETRY_MS = 250
export const LOOKUP_RETRY_MAX_MS = 2000
/** At most this many connected peers are asked whether they hold a content (want-have). */
export const CONNECTED_PROBE_MAX = 32
/** How long the connected peers' answers are awaited before the DHT walk starts anyway (ms). */
export const CONNECTED_PROBE_MS = 500
/**
 * DHT walks one node runs at once over all its lookups. Hundreds of lookups of unknown
 * contents each walking again and again would keep the event loop so busy that their own
 * time limits fire late; beyond this many a walk waits for a slot (within its lookup's limit).
 */
export const DHT_WALKS_MAX = 16

/** A counting semaphore whose waits end with the caller's signal. */
class Slots {
  private active = 0
  private readonly waiting: Array<() => void> = []
  constructor (private readonly max: number) {}

  async take (signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    if (this.active < this.max) {
      this.active++
      return
    }
    await new Promise<void>((resolve, reject) => {
      const go = (): void => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }
      const onAbort = (): void => {
        const at = this.waiting.indexOf(go)
        if (at >= 0) this.waiting.splice(at, 1)
        reject(signal.reason)
      }
      this.waiting.push(go)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Give a slot back: to the next waiter (which then holds it), else to the pool. */
  release (): void {
    const next = this.waiting.shift()
    if (next != null) next()
    else this.active--
  }
}

/** The DHT walk slots of each node. */
const walkSlots = new WeakMap<object, Slots>()

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
 * a {@link ProviderSource} (the tracker) it asks that first and uses its peers. At the same time
 * it asks up to {@link CONNECTED_PROBE_MAX} peers it is already connected to whether they hold
 * the content, as Bitswap broadcasts WANT_HAVE before it searches the DHT (go-bitswap's
 * `provSearchDelay`): a peer a hop away that holds it, or fetches it too, is a provider found
 * in one round trip, and every swarm peer beyond it follows by peer exchange. Then it walks
 * the DHT (Kademlia paper §2.3; libp2p kad-dht GET_PROVIDERS), again and again with backoff.
 *
 * A source that names providers does not end the lookup: it goes idle, and a consumer whose
 * providers all failed or stall (made-up peer IDs from forged gossip, a holder that accepts
 * and never answers) calls {@link more} to go on to the next source. The lookup ends only
 * when its time limit runs out (or it is aborted), at that instant whatever it awaits.
 */
export class ProviderSearch {
  readonly found: PeerId[] = []
  private finished = false
  /** Waiting for {@link more}: every source asked so far has named what it had. */
  private idle = false
  private wanted = false
  private wake?: () => void
  private readonly listeners = new Set<() => void>()
  private readonly controller = new AbortController()
  private readonly signal: AbortSignal

  /**
   * Where the providers came from: `'dht'` once a walk has named one, else the first of the
   * tracker and the connected peers (asked together) to name one; undefined while still looking.
   */
  source?: 'tracker' | 'connected' | 'dht'
  private readonly tracker?: ProviderSource
  private readonly connected?: ConnectedPeers
  private readonly excluded?: (peer: PeerId) => boolean
  /** `providers.search`: from the start until the sources first go idle (or the lookup ends). */
  private span?: Span

  constructor (private readonly node: P2PNode<any>, private readonly dht: Pick<DhtManager, 'findProviders'>, readonly cid: CID, timeoutMs: number, signal?: AbortSignal, sources: ProviderSearchSources = {}) {
    this.tracker = sources.tracker
    this.connected = sources.connected
    this.excluded = sources.excluded
    const signals = [this.controller.signal, AbortSignal.timeout(timeoutMs)]
    if (signal != null) signals.push(signal)
    this.signal = AbortSignal.any(signals)
    // the lookup ends when its time is up, even while a walk or a dial ignores the signal
    this.signal.addEventListener('abort', () => { this.finish() }, { once: true })
    const span = this.span = searchTracer.startSpan('providers.search', { attributes: { 'codio.content.id': cid.toString() } })
    void withActive(span, async () => await this.run(this.signal))
  }

  /** True once the lookup has ended (time limit, abort): no provider is added after. */
  get done (): boolean {
    return this.finished
  }

  /**
   * The providers named so far all failed or stall: look further (the next source, or another
   * DHT walk). A no-op once the lookup has ended; remembered when it is still busy.
   */
  more (): void {
    if (this.finished) return
    this.wanted = true
    this.wake?.()
  }

  private finish (): void {
    if (this.finished) return
    this.endSpan()
    this.finished = true
    this.wake?.()
    this.notify()
  }

  /** Idle until a consumer asks for {@link more} (or the lookup ends). */
  private async demand (signal: AbortSignal): Promise<void> {
    if (!this.wanted) {
      this.endSpan()
      this.idle = true
      this.notify()
      await new Promise<void>(resolve => { this.wake = resolve })
      this.wake = undefined
      this.idle = false
    }
    this.wanted = false
    signal.throwIfAborted()
  }

  /** The search span ends once resolution has what its sources had; later walks (after {@link more}) are its children still. */
  private endSpan (): void {
    if (this.span == null) return
    this.span.setAttributes({ 'codio.providers.found': this.found.length, 'codio.providers.source': this.source ?? 'none' })
    this.span.end()
    this.span = undefined
  }

  private async run (signal: AbortSignal): Promise<void> {
    const seen = new Set<string>([this.node.peerId.toString()])
    const add = (id: PeerId, multiaddrs: Multiaddr[]): boolean => {
      const key = id.toString()
      if (seen.has(key) || this.excluded?.(id) === true) return false
      seen.add(key)
      // addresses are written in the background: a busy peer store must not hold the lookup
      if (multiaddrs.length > 0) void this.node.peerStore.merge(id, { multiaddrs }).catch(() => {})
      this.found.push(id)
      this.notify()
      return true
    }
    try {
      // the connected peers are asked at the same time as the tracker, whatever it names: its
      // view lags the holders' gossip (debounced, then applied), so a holder one hop away that
      // finished a moment ago may be missing from its answer, and the download would never
      // hear of it (rediscovery comes seconds later, peer exchange only names swarm peers)
      const probe = this.connected == null ? Promise.resolve(0) : this.askConnected(seen, signal)
      let named = 0
      if (this.tracker != null) {
        await withSpan(searchTracer, 'providers.tracker', {}, async span => {
          const selected = await raceSignal(this.tracker!.select(this.cid, signal).catch(() => undefined), signal)
          for (const peer of selected ?? []) {
            if (!add(peer.id, peer.multiaddrs)) continue
            named++
            this.source ??= 'tracker'
          }
          span.setAttributes({ 'codio.peers.named': selected?.length ?? 0, 'codio.providers.found': named, 'codio.tracker.answered': selected != null })
        })
      }
      named += await raceSignal(probe, signal)
      if (named > 0) await this.demand(signal)
      // a walk that names nobody new is tried again until the time limit: a content published
      // a moment ago may not be announced yet (its provider had no DHT peer to hold the record)
      for (let wait = LOOKUP_RETRY_MS; !signal.aborted; wait = Math.min(wait * 2, LOOKUP_RETRY_MAX_MS)) {
        let fresh = 0
        let slots = walkSlots.get(this.node)
        if (slots == null) walkSlots.set(this.node, slots = new Slots(DHT_WALKS_MAX))
        await slots.take(signal)
        const walk = withSpan(searchTracer, 'providers.dht_walk', {}, async span => {
          try {
            for await (const info of this.dht.findProviders(this.cid, { signal })) {
              if (signal.aborted) return
              if (!add(info.id, info.multiaddrs)) continue
              this.source = 'dht'
              fresh++
            }
          } finally {
            span.setAttribute('codio.providers.found', fresh)
          }
        })
        // the slot is held until the walk itself ends, even past this lookup's end
        void walk.catch(() => {}).finally(() => { slots.release() })
        await raceSignal(walk, signal)
        if (fresh > 0) {
          await this.demand(signal)
          wait = LOOKUP_RETRY_MS
        } else {
          await sleep(wait, undefined, { signal, ref: false })
        }
      }
    } catch {
      // a lookup that times out or is aborted simply ends with what it found
    } finally {
      this.finish()
    }
  }

  /** Want-have to connected peers, in parallel; each that holds the content is a provider at once. @returns how many were new */
  private async askConnected (seen: Set<string>, signal: AbortSignal): Promise<number> {
    const connected = this.connected!
    const candidates = shuffle(connected.peers().filter(p => !seen.has(p.toString()) && this.excluded?.(p) !== true)).slice(0, CONNECTED_PROBE_MAX)
    if (candidates.length === 0) return 0
    const probe = AbortSignal.any([signal, AbortSignal.timeout(CONNECTED_PROBE_MS)])
    let named = 0
    // want-have to every candidate in one span: how many were asked, how many hold it
    return await withSpan(searchTracer, 'providers.want_have', { attributes: { 'codio.peers.asked': candidates.length } }, async span => {
      await this.probeConnected(candidates, seen, probe, signal, () => { named++ })
      span.setAttribute('codio.providers.found', named)
      return named
    })
  }

  private async probeConnected (candidates: PeerId[], seen: Set<string>, probe: AbortSignal, signal: AbortSignal, onFound: () => void): Promise<void> {
    const connected = this.connected!
    await Promise.all(candidates.map(async peer => {
      // a peer that does not answer in time, or at all, simply is not one
      if (!(await connected.has(peer, this.cid, probe).catch(() => false)) || signal.aborted) return
      const key = peer.toString()
      if (seen.has(key)) return
      seen.add(key)
      this.found.push(peer)
      this.source ??= 'connected'
      onFound()
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
   * Every provider found so far and from now on: until the lookup goes idle (each source asked
   * has named what it had; what a download needs), or with `follow` until it ends, across
   * every {@link more} (what a consumer that calls `more` needs).
   */
  async * providers (options: { follow?: boolean } = {}): AsyncGenerator<PeerId> {
    let i = 0
    while (true) {
      while (i < this.found.length) yield this.found[i++]
      if (this.finished || (this.idle && options.follow !== true && !this.wanted)) return
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
