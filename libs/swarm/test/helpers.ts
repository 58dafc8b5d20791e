import type { CID } from 'multiformats/cid'

/** A chunk sink and block source in memory, keyed by CID string. */
export class MapStore {
  readonly blocks = new Map<string, Uint8Array>()
  async has (cid: CID): Promise<boolean> { return this.blocks.has(cid.toString()) }
  async get (cid: CID): Promise<Uint8Array | undefined> { return this.blocks.get(cid.toString()) }
  async put (cid: CID, bytes: Uint8Array): Promise<void> { this.blocks.set(cid.toString(), bytes) }
}

/** mulberry32: a small seeded PRNG, uniform on [0, 1). */
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
