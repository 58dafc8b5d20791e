/**
 * mulberry32 (Tommy Ettinger, 2017): a small seeded PRNG, uniform on [0, 1). The same seed
 * gives the same sequence, so a test that draws "random" cases fails the same way every run.
 */
export function seeded (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
