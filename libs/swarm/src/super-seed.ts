import { Bitfield } from '@codio/bitfield'

/** Chunks revealed to one peer and not yet announced back by it, at most. */
export const DEFAULT_SUPER_SEED_REVEALS = 16

/** A super-seed's peer that got no chunk from anyone else for this long is fed beyond the copy limit (ms). */
export const DEFAULT_SUPER_SEED_ISOLATION_MS = 5000

/**
 * An in-order peer (an edge streaming to a reader) keeps this many times `revealsPerPeer`
 * chunks revealed: its reveals are the next chunks its reader needs, and each comes back only
 * after its `have` reaches the seed, so with 16 a lone edge fetched at ~250 MB/s where the same
 * edge without super-seeding fetched at ~340.
 */
export const IN_ORDER_REVEALS_FACTOR = 4

/** Copies of the content a super-seed uploads, about (see {@link SuperSeederInit.maxCopies}). */
export const DEFAULT_SUPER_SEED_COPIES = 1

/**
 * A peer seen re-serving nothing counts as a holder for this many times the median time a
 * peer takes to fetch a chunk it was shown (reveal to `have`), at least
 * {@link SUPER_SEED_MIN_GRACE_MS} and at most the isolation time.
 */
export const SUPER_SEED_GRACE_FACTOR = 2
/** Least grace a peer gets to re-serve its first chunk (ms). */
export const SUPER_SEED_MIN_GRACE_MS = 250
/**
 * A peer past its grace counts as a holder while the chunks it was seen passing on number at
 * least 1 for every this many it took from us.
 */
export const SUPER_SEED_TAKEN_PER_RESERVED = 4
/** Fills recount the holders that count at most this often (ms); ticks always do. */
const RESCORE_MS = 100
/** Reveal-to-`have` times kept for the median. */
const GRACE_SAMPLES = 32

export interface SuperSeederInit {
  /** Chunks charged to one unchoked peer at a time (revealed, not yet passed on). Default 16. */
  revealsPerPeer?: number
  /**
   * The seed's upload budget in copies of the content, a number ≥ 1. Every chunk is revealed
   * while it is in fewer than `⌈maxCopies⌉` places (peers holding it plus reveals not yet
   * fetched), and a reveal of a chunk already somewhere — a second copy — only while such
   * reveals number under `(maxCopies − 1) × size`. Default 1: each chunk leaves the seed once,
   * and again only if every peer holding it left. 1.5: once every chunk is out, the seed
   * spends half a copy more on the least spread chunks instead of idling while the peers
   * finish. Higher values trade seed upload for speed.
   */
  maxCopies?: number
  /**
   * A peer that announced no chunk it got elsewhere for this long (ms) is isolated — its
   * neighbours choke it or hold nothing for it — and is fed as if by a plain seed, beyond
   * `maxCopies`. Default 5 000.
   */
  isolationMs?: number
  /** Clock in ms (tests pass their own). Default `performance.now`. */
  now?: () => number
  /** Source of randomness in [0, 1) for tie-breaking (tests pass a seeded one). */
  random?: () => number
}

interface SeedPeer<K> {
  key: K
  /** What the peer holds (its handshake bitfield and every `have` since). */
  has: Bitfield
  /** Every chunk we told this peer we hold (a `have` cannot be taken back). */
  revealed: Set<number>
  /** a peer that streams what it fetches to a reader: shown the lowest chunks it lacks first */
  inOrder: boolean
  /** Revealed chunks not yet passed on (held by the peer and by another): its quota in use. */
  outstanding: Set<number>
  unchoked: boolean
  /** when the peer last announced a chunk we did not reveal to it (ms, the caller's clock) */
  lastForeign: number
  /** when each revealed chunk was revealed (until the peer announces it) */
  revealedAt: Map<number, number>
  /** when the peer first held a chunk (ms), if it holds any */
  firstHeld?: number
  /** chunks it held that another peer then announced without our reveal: seen re-served */
  reServed: number
  /** chunks we revealed to it that it then announced: taken from us */
  taken: number
}

/**
 * Super-seeding (BEP 16) for a node that holds a whole content and wants each chunk to leave
 * it as few times as possible: it hands a peer an empty bitfield and then reveals chunks one
 * `have` at a time, always the chunks least present in the swarm — counting the peers that
 * announced them and the reveals not yet fetched — so different peers get different chunks.
 *
 * As in BEP 16, a reveal stays charged to the peer until the chunk has been seen at another
 * peer too (the peer passed it on, or someone else got it), so the seed uploads only as fast
 * as the swarm spreads what it already sent, and the peers finish among themselves. Unlike
 * BEP 16's single piece, each unchoked peer keeps up to `revealsPerPeer` chunks charged, so a
 * request queue of that depth stays full. With one peer alone a chunk needs no second holder.
 * Choked peers get no reveals. A chunk already in `maxCopies` places (held or revealed) is
 * not revealed again: the peers spread it, and the seed's upload stays near one copy of the
 * content — unless a peer is isolated (it got nothing from anyone else for `isolationMs`:
 * its neighbours choke it), which the seed then feeds like a plain seed so that no download
 * hangs on peers that do not share. A peer counts as a holder only while it is seen passing
 * chunks on (another peer announces a chunk it holds that we never showed that peer), or for a
 * grace of a few median fetch times after its first chunk: a hoarder that takes every chunk
 * it is shown, announces it and serves nothing holds nothing as far as the seed's choices go,
 * and, where other peers do trade, is shown one chunk at a time. Keys are whatever identifies
 * a peer's session.
 */
export class SuperSeeder<K> {
  private readonly peers = new Map<K, SeedPeer<K>>()
  /** per chunk: peers that announced holding it */
  private readonly availability: Uint32Array
  /** per chunk: peers it is revealed to that do not hold it yet */
  private readonly assigned: Uint32Array
  /** per chunk: peers it is charged to */
  private readonly chargedTo = new Map<number, Set<SeedPeer<K>>>()
  private readonly revealsPerPeer: number
  private readonly maxCopies: number
  /** reveals of a chunk already held or revealed elsewhere that the budget still allows */
  private extraCopies: number
  private readonly random: () => number
  private readonly isolationMs: number
  private readonly now: () => number
  /** per chunk: holders that do not count (see {@link counts}), as of the last {@link tick} */
  private readonly discount: Uint32Array
  /** peers that do not count, as of the last {@link tick} */
  private uncounted = 0
  /** when {@link discount} was last recounted (ms, the caller's clock) */
  private scoredAt = -Infinity
  /** reveal-to-`have` times (ms), the last {@link GRACE_SAMPLES} */
  private readonly fetchTimes: number[] = []

  /**
   * @param size chunks in the content
   * @throws RangeError when `size` or `revealsPerPeer` is not a positive integer, or
   * `maxCopies` is below 1
   */
  constructor (readonly size: number, init: SuperSeederInit = {}) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`content size must be a positive integer, got ${size}`)
    this.revealsPerPeer = init.revealsPerPeer ?? DEFAULT_SUPER_SEED_REVEALS
    if (!Number.isInteger(this.revealsPerPeer) || this.revealsPerPeer < 1) throw new RangeError(`revealsPerPeer must be a positive integer, got ${this.revealsPerPeer}`)
    const copies = init.maxCopies ?? DEFAULT_SUPER_SEED_COPIES
    if (typeof copies !== 'number' || !Number.isFinite(copies) || copies < 1) throw new RangeError(`maxCopies must be a number ≥ 1, got ${copies}`)
    this.maxCopies = Math.ceil(copies)
    this.extraCopies = Math.floor((copies - 1) * size + 1e-9)
    this.random = init.random ?? Math.random
    this.isolationMs = init.isolationMs ?? DEFAULT_SUPER_SEED_ISOLATION_MS
    this.now = init.now ?? (() => performance.now())
    this.availability = new Uint32Array(size)
    this.assigned = new Uint32Array(size)
    this.discount = new Uint32Array(size)
  }

  /**
   * How long a peer that re-served nothing yet counts as a holder of what it got (ms): a
   * multiple of the median reveal-to-`have` time, within [{@link SUPER_SEED_MIN_GRACE_MS},
   * isolation time]; the isolation time until there is a sample.
   */
  graceMs (): number {
    if (this.fetchTimes.length === 0) return this.isolationMs
    const sorted = [...this.fetchTimes].sort((a, b) => a - b)
    const median = sorted[Math.floor(sorted.length / 2)]
    return Math.min(this.isolationMs, Math.max(SUPER_SEED_MIN_GRACE_MS, SUPER_SEED_GRACE_FACTOR * median))
  }

  /**
   * Whether the peer's copies count as spread (BEP 16: a piece is out once it shows up at
   * another peer). A peer that has held chunks for longer than {@link graceMs} and was never
   * seen passing one on — a hoarder that takes and announces but serves nothing, or a peer
   * nobody can reach — does not: what it holds is revealed to others as if nobody held it.
   */
  private counts (p: SeedPeer<K>): boolean {
    return p.firstHeld == null || p.reServed * SUPER_SEED_TAKEN_PER_RESERVED >= p.taken || this.now() - p.firstHeld < this.graceMs()
  }

  /**
   * Chunks a peer may have revealed and not yet passed on. BEP 16 ties the reveals to what the
   * swarm sees re-served: a peer that does not count as a holder (see {@link counts}) is shown
   * one chunk at a time while other peers do count; where none does, everyone the usual number.
   */
  private budget (p: SeedPeer<K>): number {
    if (this.uncounted < this.peers.size && !this.counts(p)) return 1
    return p.inOrder ? IN_ORDER_REVEALS_FACTOR * this.revealsPerPeer : this.revealsPerPeer
  }

  /** Holders of chunk `i` that count (see {@link counts}). */
  private spread (i: number): number {
    return Math.max(0, this.availability[i] - this.discount[i])
  }

  /**
   * A peer joined with bitfield `has` (choked until {@link unchoke}). With `inOrder` — a peer
   * that streams what it fetches to a reader waiting for it, such as an edge answering a GET —
   * its reveals are the lowest chunks it lacks that the copy limit allows, not the least
   * present: a reader waits for chunk 0 first, and a random reveal order made it wait for the
   * isolation time (seconds) before the seed showed it.
   */
  addPeer (key: K, has: Bitfield, options: { inOrder?: boolean } = {}): void {
    if (has.size !== this.size) throw new RangeError(`bitfield of ${has.size} chunks for a content of ${this.size}`)
    this.removePeer(key)
    const copy = Bitfield.fromBytes(this.size, has.toBytes())
    for (let i = 0; i < this.size; i++) if (copy.has(i)) this.availability[i]++
    this.peers.set(key, { key, has: copy, revealed: new Set(), inOrder: options.inOrder === true, outstanding: new Set(), unchoked: false, lastForeign: this.now(), revealedAt: new Map(), firstHeld: copy.count() > 0 ? this.now() : undefined, reServed: 0, taken: 0 })
  }

  /**
   * The peer left: its chunks no longer count, its reveals go back to the pool.
   *
   * @returns chunks to reveal to other peers now (a peer alone needs no second holder)
   */
  removePeer (key: K): Map<K, number[]> {
    const p = this.peers.get(key)
    if (p == null) return new Map()
    for (let i = 0; i < this.size; i++) if (p.has.has(i)) this.availability[i]--
    for (const i of p.revealed) if (!p.has.has(i)) this.assigned[i]--
    for (const i of p.outstanding) this.chargedTo.get(i)?.delete(p)
    this.peers.delete(key)
    const out = new Map<K, number[]>()
    for (const q of this.peers.values()) {
      for (const i of [...q.outstanding]) this.release(q, i)
      const shown = this.fill(q)
      if (shown.length > 0) out.set(q.key, shown)
    }
    return out
  }

  /**
   * The peer announced chunk `index` (BEP 3 `have`).
   *
   * @returns chunks to reveal now, per peer (send them as `have`s)
   */
  have (key: K, index: number): Map<K, number[]> {
    const out = new Map<K, number[]>()
    const p = this.peers.get(key)
    if (p == null || !Number.isInteger(index) || index < 0 || index >= this.size || p.has.has(index)) return out
    p.has.set(index)
    this.availability[index]++
    p.firstHeld ??= this.now()
    const shownAt = p.revealedAt.get(index)
    if (shownAt != null) {
      p.revealedAt.delete(index)
      this.fetchTimes.push(this.now() - shownAt)
      if (this.fetchTimes.length > GRACE_SAMPLES) this.fetchTimes.shift()
    }
    if (p.revealed.has(index)) {
      this.assigned[index]--
      p.taken++
    } else {
      p.lastForeign = this.now()
      // it got the chunk from a peer, not from us: as BEP 16 reads it, the peers we showed
      // that chunk to passed it on (which of them did is not ours to see)
      for (const q of this.peers.values()) {
        if (q === p || !q.has.has(index) || !q.revealed.has(index)) continue
        q.reServed++
      }
    }
    for (const q of [...(this.chargedTo.get(index) ?? [])]) {
      if (this.release(q, index)) {
        const shown = this.fill(q)
        if (shown.length > 0) out.set(q.key, shown)
      }
    }
    return out
  }

  /** @returns chunks to reveal to the peer, now unchoked */
  unchoke (key: K): number[] {
    const p = this.peers.get(key)
    if (p == null) return []
    p.unchoked = true
    return this.fill(p)
  }

  /** The peer is choked: it gets no new reveals; those it has stay charged until passed on. */
  choke (key: K): void {
    const p = this.peers.get(key)
    if (p != null) p.unchoked = false
  }

  /**
   * Feed isolated peers (see {@link SuperSeederInit.isolationMs}), and reveal what peers that
   * re-serve nothing hold (see {@link counts}) to the others: call it every second or so.
   *
   * @returns chunks to reveal now, per peer
   */
  tick (): Map<K, number[]> {
    const out = new Map<K, number[]>()
    if (this.peers.size === 0) return out
    this.reScore()
    for (const p of this.peers.values()) {
      if (!p.unchoked) continue
      if (this.isolated(p)) {
        for (const i of [...p.outstanding]) this.release(p, i)
      } else if (this.uncounted > 0) {
        // a charge held only because its other holder does not count is lifted
        for (const i of [...p.outstanding]) this.release(p, i)
      } else {
        continue
      }
      const shown = this.fill(p)
      if (shown.length > 0) out.set(p.key, shown)
    }
    return out
  }

  /** Recount the holders that count (see {@link counts}). */
  private reScore (): void {
    this.scoredAt = this.now()
    this.discount.fill(0)
    this.uncounted = 0
    for (const p of this.peers.values()) {
      if (this.counts(p)) continue
      this.uncounted++
      for (let i = p.has.nextSet(0); i >= 0; i = p.has.nextSet(i + 1)) this.discount[i]++
    }
  }

  private isolated (p: SeedPeer<K>): boolean {
    return this.now() - p.lastForeign >= this.isolationMs && !p.has.isFull()
  }

  /** Peers that announced chunk `index`. */
  holders (index: number): number {
    return this.availability[index] ?? 0
  }

  /** Uncharge chunk `i` from `q` when q holds it and so does another peer (or q is alone, or isolated). */
  private release (q: SeedPeer<K>, i: number): boolean {
    // a peer alone (among those that count) needs no second holder
    if (!q.has.has(i) || (this.availability[i] < Math.min(2, this.peers.size - this.uncounted) && !this.isolated(q))) return false
    q.outstanding.delete(i)
    this.chargedTo.get(i)?.delete(q)
    return true
  }

  private fill (p: SeedPeer<K>): number[] {
    const out: number[] = []
    // holders stop counting as time passes: recount now and then, not only at each tick
    if (this.now() - this.scoredAt >= RESCORE_MS) this.reScore()
    const budget = this.budget(p)
    while (p.unchoked && p.outstanding.size < budget) {
      const isolated = this.isolated(p)
      const next = this.pick(p, isolated)
      if (next < 0) break
      // a chunk that is already somewhere: an extra copy, paid from the budget (an isolated
      // peer is fed regardless)
      if (!isolated && this.spread(next) + this.assigned[next] > 0) this.extraCopies--
      p.revealedAt.set(next, this.now())
      p.revealed.add(next)
      p.outstanding.add(next)
      this.assigned[next]++
      let charged = this.chargedTo.get(next)
      if (charged == null) this.chargedTo.set(next, charged = new Set())
      charged.add(p)
      out.push(next)
    }
    return out
  }

  /**
   * The chunk the peer lacks and was not shown that is least present (held + assigned), if
   * fewer than `⌈maxCopies⌉` (1 once the budget of extra copies is spent); ties at random. For
   * an in-order peer, the lowest such chunk. -1 when there is none.
   */
  private pick (p: SeedPeer<K>, isolated: boolean): number {
    let best = -1
    let bestScore = Infinity
    const limit = isolated ? Infinity : this.extraCopies > 0 ? this.maxCopies : 1
    const start = p.inOrder ? 0 : Math.floor(this.random() * this.size)
    for (let k = 0; k < this.size; k++) {
      const i = (start + k) % this.size
      if (p.has.has(i) || p.revealed.has(i)) continue
      const score = this.spread(i) + this.assigned[i]
      if (p.inOrder && score < limit) return i
      if (score < bestScore && score < limit) {
        best = i
        bestScore = score
        if (score === 0) break
      }
    }
    return best
  }
}
