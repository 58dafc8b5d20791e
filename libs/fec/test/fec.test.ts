import { describe, expect, it } from '@jest/globals'
import { randomBytes, randomInt } from 'node:crypto'
import { chunkCid, MIN_CHUNK_SIZE, type Manifest } from '@codio/content'
import { seeded } from '@codio/testing'
import { assertIngestFecCode, FecEncoder, fecGroupLayout, fecPlan, parseFecSpec, formatFecSpec, FecRebuildError, InvalidFecParamsError, MAX_FEC_GROUP_BYTES, MAX_INGEST_SHARDS } from '../src/index.js'

const CHUNK = MIN_CHUNK_SIZE

/** A content of `size` random bytes coded k+m as an origin would: data chunks and parity. */
async function publish (size: number, k: number, m: number): Promise<{ manifest: Pick<Manifest, 'size' | 'chunkSize' | 'chunks' | 'fec'>, data: Uint8Array[], parity: Uint8Array[][] }> {
  const bytes = randomBytes(size)
  const data: Uint8Array[] = []
  for (let o = 0; o < size; o += CHUNK) data.push(bytes.subarray(o, Math.min(size, o + CHUNK)))
  const enc = new FecEncoder({ dataShards: k, parityShards: m })
  const parity: Uint8Array[][] = []
  for (const d of data) {
    const p = await enc.push(d)
    if (p != null) parity.push(p)
  }
  const tail = await enc.flush()
  if (tail != null) parity.push(tail)
  return {
    manifest: {
      size,
      chunkSize: CHUNK,
      chunks: data.map(chunkCid),
      fec: { dataShards: k, parityShards: m, groups: parity.map(p => ({ parity: p.map(chunkCid) })) }
    },
    data,
    parity
  }
}

/** 0 … n−1 shuffled (Fisher–Yates) with `next`. */
function shuffled (n: number, next: (n: number) => number = randomInt): number[] {
  const a = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = next(i + 1)
    ;[a[i], a[j]] = [a[j], a[i]]
  }
  return a
}

describe('FEC groups', () => {
  it('lays out groups: k chunks each, a shorter last group, shards as long as the first chunk', () => {
    const m = { size: 23 * CHUNK + 100, chunkSize: CHUNK }
    expect(fecGroupLayout(m, 10, 0)).toEqual({ group: 0, first: 0, last: 9, dataCount: 10, shardSize: CHUNK })
    expect(fecGroupLayout(m, 10, 2)).toEqual({ group: 2, first: 20, last: 23, dataCount: 4, shardSize: CHUNK })
    expect(fecGroupLayout({ size: 10 * CHUNK + 100, chunkSize: CHUNK }, 10, 1)).toEqual({ group: 1, first: 10, last: 10, dataCount: 1, shardSize: 100 })
    expect(() => fecGroupLayout(m, 10, 3)).toThrow(RangeError)
  })

  it('rebuilds from any k of k+m shards: 1 to m erasures in seeded random positions, and the first m (all data)', async () => {
    const random = seeded(0xc0d10)
    const next = (n: number): number => Math.floor(random() * n)
    let rebuilds = 0
    for (const [k, m, size] of [[10, 4, 37 * CHUNK + 777], [4, 2, 9 * CHUNK], [1, 1, 100], [8, 3, 8 * CHUNK + 1]] as const) {
      const { manifest, data, parity } = await publish(size, k, m)
      const plan = fecPlan(manifest)!
      expect(plan.groupCount).toBe(parity.length)
      for (let g = 0; g < plan.groupCount; g++) {
        const layout = plan.layout(g)
        const all = [...data.slice(layout.first, layout.last + 1), ...parity[g]]
        expect(parity[g].every(p => p.byteLength === layout.shardSize)).toBe(true)
        const patterns = [Array.from({ length: m }, (_, i) => i)]
        for (let lost = 1; lost <= m; lost++) patterns.push(shuffled(all.length, next).slice(0, lost))
        for (const pattern of patterns) {
          const holes = new Set(pattern)
          const rebuilt = await plan.rebuild(g, all.map((s, i) => holes.has(i) ? undefined : s))
          expect(rebuilt.length).toBe(layout.dataCount)
          rebuilt.forEach((c, i) => expect([pattern, Buffer.compare(c, data[layout.first + i])]).toEqual([pattern, 0]))
          rebuilds++
        }
      }
    }
    // groups (m + 1 patterns each): 38 chunks at 10+4 → 4, 9 at 4+2 → 3, 1 at 1+1 → 1, 9 at 8+3 → 2
    expect(rebuilds).toBe(4 * 5 + 3 * 3 + 1 * 2 + 2 * 4)
  })

  it('codes a one-chunk last group as a shortened code: its parity blocks are not copies of the chunk', async () => {
    const { manifest, data, parity } = await publish(10 * CHUNK + 100, 10, 4)
    const last = parity[1]
    const cids = new Set([chunkCid(data[10]).toString(), ...last.map(p => chunkCid(p).toString())])
    expect(cids.size).toBe(5)
    const plan = fecPlan(manifest)!
    for (let j = 0; j < 4; j++) {
      const shards: Array<Uint8Array | undefined> = [undefined, undefined, undefined, undefined, undefined]
      shards[1 + j] = last[j]
      expect(Buffer.compare((await plan.rebuild(1, shards))[0], data[10])).toBe(0)
    }
  })

  it('refuses more than m erasures with a typed error', async () => {
    const { manifest, data, parity } = await publish(10 * CHUNK, 10, 4)
    const plan = fecPlan(manifest)!
    const shards: Array<Uint8Array | undefined> = [...data, ...parity[0]]
    for (const i of shuffled(14).slice(0, 5)) shards[i] = undefined
    await expect(plan.rebuild(0, shards)).rejects.toThrow(FecRebuildError)
  })

  it('refuses parity that does not belong to the content, and shards of the wrong length', async () => {
    const { manifest, data, parity } = await publish(4 * CHUNK, 4, 2)
    const plan = fecPlan(manifest)!
    const forged = parity[0].map(p => { const c = Buffer.from(p); c[0] ^= 1; return c })
    await expect(plan.rebuild(0, [undefined, ...data.slice(1), ...forged])).rejects.toThrow(/does not match/)
    await expect(plan.rebuild(0, [data[0].subarray(1), ...data.slice(1), ...parity[0]])).rejects.toThrow(/expected/)
    await expect(plan.rebuild(0, [...data])).rejects.toThrow(/has 6 shards/)
  })

  it('has no plan for a manifest without FEC', () => {
    expect(fecPlan({ size: 1, chunkSize: CHUNK, chunks: [chunkCid(new Uint8Array(1))] })).toBeUndefined()
  })

  it('refuses a chunk longer than its group\'s first, and empty chunks', async () => {
    const enc = new FecEncoder({ dataShards: 4, parityShards: 2 })
    await enc.push(new Uint8Array(100))
    await expect(enc.push(new Uint8Array(200))).rejects.toThrow(FecRebuildError)
    await expect(enc.push(new Uint8Array(0))).rejects.toThrow(/empty/)
  })

  it('parses "k+m" and "none"', () => {
    expect(parseFecSpec('10+4')).toEqual({ dataShards: 10, parityShards: 4 })
    expect(parseFecSpec(' 8 + 2 ')).toEqual({ dataShards: 8, parityShards: 2 })
    expect(parseFecSpec('none')).toBeUndefined()
    expect(formatFecSpec({ dataShards: 10, parityShards: 4 })).toBe('10+4')
    for (const bad of ['10', '0+4', '4+0', '200+57', 'x+y', '']) expect(() => parseFecSpec(bad)).toThrow(InvalidFecParamsError)
    expect(() => new FecEncoder({ dataShards: 0, parityShards: 1 })).toThrow(InvalidFecParamsError)
  })

  it('parses "k m", what an unencoded ?fec=k+m arrives as, and refuses what is not one string', () => {
    expect(parseFecSpec('10 4')).toEqual({ dataShards: 10, parityShards: 4 })
    expect(parseFecSpec(new URLSearchParams('fec=10+4').get('fec')!)).toEqual({ dataShards: 10, parityShards: 4 })
    expect(() => parseFecSpec(['3+2', 'none'] as unknown as string)).toThrow(InvalidFecParamsError)
  })

  it('holds uploads to cost limits, each at the limit and one over, naming the limit', () => {
    expect(parseFecSpec('32+32')).toEqual({ dataShards: 32, parityShards: 32 })
    expect(() => parseFecSpec('33+32')).toThrow(`≤ ${MAX_INGEST_SHARDS} (MAX_INGEST_SHARDS)`)
    expect(() => parseFecSpec('1+255')).toThrow(/MAX_INGEST_SHARDS/)
    expect(parseFecSpec('4+4')).toEqual({ dataShards: 4, parityShards: 4 })
    expect(() => parseFecSpec('4+5')).toThrow(/MAX_PARITY_RATIO/)
    const chunk = 8 * 1024 * 1024
    expect(MAX_FEC_GROUP_BYTES).toBe(16 * chunk)
    expect(() => assertIngestFecCode({ dataShards: 8, parityShards: 8 }, chunk)).not.toThrow()
    expect(() => assertIngestFecCode({ dataShards: 9, parityShards: 8 }, chunk)).toThrow(/MAX_FEC_GROUP_BYTES/)
    // manifests coded before the limits still decode: the decoder's rule stays k + m ≤ 256
    expect(() => new FecEncoder({ dataShards: 1, parityShards: 255 })).not.toThrow()
  })
})
