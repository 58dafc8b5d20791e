import type { PeerId, PeerInfo } from '@libp2p/interface'
import type { QueryEvent } from '@libp2p/kad-dht'

/** One provider (or peer) record: who, and where to dial it. */
export interface ProviderInfo {
  id: PeerId
  multiaddrs: PeerInfo['multiaddrs']
}

/**
 * What one `findProviders` lookup cost. Built by {@link LookupTracer} from kad-dht's query events.
 *
 * Hops are counted on the referral graph of the lookup: the peers kad-dht starts from (the K
 * routing-table peers closest to the key, S/Kademlia §4.4 splits them over disjoint paths) are at
 * depth 1; a peer first learned from the `closer` list of a depth-d responder is at depth d + 1
 * (the shortest such chain when several responders named it). `hops` is the depth of the peer
 * that returned the first provider record, i.e. how many sequential request rounds the lookup
 * needed before it could name a provider; 0 when this node's own provider store answered.
 * Kademlia bounds it by O(log N) (Maymounkov & Mazières 2002, §2.3).
 */
export interface LookupTrace {
  /** Providers found, deduplicated by peer id, in the order they arrived. */
  providers: ProviderInfo[]
  /** ms from the call to the first provider; undefined when none was found. */
  firstMs?: number
  /** ms from the call to the end of the lookup (query end, limit, or time limit). */
  totalMs: number
  /** Referral depth of the peer that returned the first provider (see above); undefined when none. */
  hops?: number
  /** Deepest referral depth among peers that answered: the number of request rounds run. */
  maxDepth: number
  /** Distinct peers a GET_PROVIDERS request was sent to during the whole lookup. */
  peersContacted: number
  /** Distinct peers a request was sent to before the first provider arrived; undefined when none. */
  peersContactedBeforeFirst?: number
  /** Requests that failed (dial error, stream reset, bad response). */
  failures: number
  /** True when the lookup was cut by the manager's `queryTimeoutMs`. */
  timedOut: boolean
}

/**
 * Accumulates kad-dht `QueryEvent`s of one lookup and turns them into a {@link LookupTrace}.
 * Feed every event to {@link LookupTracer.onEvent}; call {@link LookupTracer.finish} once at the
 * end. Depths are computed at the end, so the interleaving of events from parallel paths (a
 * referred peer's DIAL_PEER can be emitted before its referrer's PEER_RESPONSE) does not matter.
 */
export class LookupTracer {
  private readonly t0: number
  private readonly self: string
  private readonly startingPeers: Set<string>
  private readonly contacted = new Set<string>()
  private readonly referrals = new Map<string, Set<string>>()
  private firstProvider?: { from: string, at: number, contactedBefore: number }
  private failures = 0

  /**
   * @param self - this node; a provider event from it means the local store answered (depth 0)
   * @param startingPeers - the routing-table peers the query starts from (depth 1); queried peers
   *   that no responder named are treated as starting peers as well
   * @param t0 - when the lookup began (`performance.now()` ms); default now
   */
  constructor (self: PeerId, startingPeers: Iterable<PeerId> = [], t0 = performance.now()) {
    this.t0 = t0
    this.self = self.toString()
    this.startingPeers = new Set([...startingPeers].map(p => p.toString()))
  }

  onEvent (event: QueryEvent): void {
    switch (event.name) {
      case 'SEND_QUERY':
        this.contacted.add(event.to.toString())
        break
      case 'PEER_RESPONSE': {
        const from = event.from.toString()
        let named = this.referrals.get(from)
        if (named == null) {
          named = new Set()
          this.referrals.set(from, named)
        }
        for (const p of event.closer) named.add(p.id.toString())
        break
      }
      case 'PROVIDER':
        if (this.firstProvider == null && event.providers.length > 0) {
          this.firstProvider = { from: event.from.toString(), at: performance.now(), contactedBefore: this.contacted.size }
        }
        break
      case 'QUERY_ERROR':
        this.failures++
        break
      default:
        break
    }
  }

  /** Referral depth of every peer seen (self = 0), by breadth-first search from the starting peers. */
  depths (): Map<string, number> {
    const named = new Set<string>()
    for (const [from, peers] of this.referrals) {
      for (const p of peers) if (p !== from) named.add(p)
    }
    const depth = new Map<string, number>([[this.self, 0]])
    const queue: string[] = []
    const roots = new Set(this.startingPeers)
    for (const p of this.contacted) if (!named.has(p)) roots.add(p)
    for (const p of roots) {
      if (!depth.has(p)) {
        depth.set(p, 1)
        queue.push(p)
      }
    }
    const walk = (): void => {
      while (queue.length > 0) {
        const p = queue.shift()!
        const d = depth.get(p)!
        for (const q of this.referrals.get(p) ?? []) {
          if (!depth.has(q)) {
            depth.set(q, d + 1)
            queue.push(q)
          }
        }
      }
    }
    walk()
    // a contacted peer reachable only through a referral cycle was a starting peer we missed
    for (const p of this.contacted) {
      if (!depth.has(p)) {
        depth.set(p, 1)
        queue.push(p)
        walk()
      }
    }
    return depth
  }

  finish (providers: ProviderInfo[], timedOut: boolean): LookupTrace {
    const depth = this.depths()
    let maxDepth = 0
    for (const from of this.referrals.keys()) maxDepth = Math.max(maxDepth, depth.get(from) ?? 0)
    const first = this.firstProvider
    return {
      providers,
      firstMs: first == null ? undefined : first.at - this.t0,
      totalMs: performance.now() - this.t0,
      hops: first == null ? undefined : depth.get(first.from),
      maxDepth,
      peersContacted: this.contacted.size,
      peersContactedBeforeFirst: first?.contactedBefore,
      failures: this.failures,
      timedOut
    }
  }
}
