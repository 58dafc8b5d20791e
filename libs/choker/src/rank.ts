import type { ChokerPeer } from './types.js'

/**
 * The `slots` peers with the highest `rateOf`, fastest first; equal rates are ordered by a
 * fresh random key per call, so zero-rate peers share the leftover slots fairly over rounds.
 * O(n log n).
 */
export function fastest (peers: readonly ChokerPeer[], slots: number, rateOf: (p: ChokerPeer) => number, random: () => number): ChokerPeer[] {
  if (slots <= 0) return []
  const keyed = peers.map(p => ({ p, rate: rateOf(p), tie: random() }))
  keyed.sort((a, b) => (b.rate - a.rate) || (a.tie - b.tie))
  return keyed.slice(0, slots).map(k => k.p)
}

/**
 * Draw up to `count` distinct peers, each with probability proportional to `weightOf` among
 * those not yet drawn (successive weighted draws without replacement). O(n · count).
 */
export function weightedDraw (peers: readonly ChokerPeer[], count: number, weightOf: (p: ChokerPeer) => number, random: () => number): ChokerPeer[] {
  const pool = peers.map(p => ({ p, w: weightOf(p) }))
  const out: ChokerPeer[] = []
  while (out.length < count && pool.length > 0) {
    let total = 0
    for (const e of pool) total += e.w
    let r = random() * total
    let at = pool.length - 1 // float rounding can leave r ≥ the running sum: take the last
    for (let i = 0; i < pool.length; i++) {
      r -= pool[i].w
      if (r < 0) { at = i; break }
    }
    out.push(pool[at].p)
    pool.splice(at, 1)
  }
  return out
}
