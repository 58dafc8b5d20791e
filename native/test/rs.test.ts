import { describe, expect, it } from '@jest/globals'
import { randomBytes, randomInt } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  rsEncode,
  rsEncodeIntoSync,
  rsEncodeSync,
  rsReconstruct,
  rsReconstructSync,
  simdLevel
} from '../index.js'
import { encodingMatrix, referenceParity } from './gf-reference.js'

const shardsOf = (k: number, len: number): Buffer[] => Array.from({ length: k }, () => randomBytes(len))

/** Fisher-Yates on a copy. */
function shuffled<T>(xs: readonly T[]): T[] {
  const a = [...xs]
  for (let i = a.length - 1; i > 0; i--) {
    const j = randomInt(i + 1)
    ;[a[i], a[j]] = [a[j], a[i]]
  }
  return a
}

describe('Reed-Solomon encode', () => {
  it('reports the kernel it dispatched to', () => {
    expect(['avx512-gfni', 'avx2-gfni', 'avx2', 'ssse3', 'scalar']).toContain(simdLevel())
  })

  it('encoding matrix of the oracle is systematic (sanity of the oracle itself)', () => {
    const em = encodingMatrix(5, 3)
    for (let r = 0; r < 5; r++) for (let c = 0; c < 5; c++) expect(em[r][c]).toBe(r === c ? 1 : 0)
  })

  it.each([
    [1, 1, 1],
    [1, 4, 33],
    [2, 2, 64],
    [4, 2, 100],
    [10, 4, 4096],
    [10, 4, 1000 + 7],
    [6, 9, 257],
    [17, 3, 129],
    [20, 12, 512],
    [64, 16, 65]
  ])('k=%i m=%i len=%i parity equals the Backblaze/klauspost construction (independent TS oracle)', (k, m, len) => {
    const data = shardsOf(k, len)
    const parity = rsEncodeSync(data, m)
    expect(parity).toHaveLength(m)
    const want = referenceParity(data, m)
    for (let p = 0; p < m; p++) {
      expect(Buffer.isBuffer(parity[p])).toBe(true)
      expect(parity[p].equals(want[p])).toBe(true)
    }
  })

  it('async, sync and into-variants agree; inputs are not modified', async () => {
    for (let t = 0; t < 20; t++) {
      const k = randomInt(1, 30)
      const m = randomInt(1, 12)
      const len = randomInt(1, 20_000)
      const data = shardsOf(k, len)
      const copy = data.map(d => Buffer.from(d))
      const a = rsEncodeSync(data, m)
      const b = await rsEncode(data, m)
      const c = Array.from({ length: m }, () => Buffer.alloc(len, 0xee))
      expect(rsEncodeIntoSync(data, c)).toBeUndefined()
      for (let p = 0; p < m; p++) {
        expect(b[p].equals(a[p])).toBe(true)
        expect(c[p].equals(a[p])).toBe(true)
      }
      data.forEach((d, i) => expect(d.equals(copy[i])).toBe(true))
    }
  })

  it('accepts Uint8Array views with a byte offset', () => {
    const backing = randomBytes(3 * 100 + 7)
    const views = [0, 1, 2].map(i => new Uint8Array(backing.buffer, backing.byteOffset + 7 + i * 100, 100))
    const bufs = views.map(v => Buffer.from(v))
    const a = rsEncodeSync(views as unknown as Buffer[], 2)
    const b = rsEncodeSync(bufs, 2)
    expect(a[0].equals(b[0])).toBe(true)
    expect(a[1].equals(b[1])).toBe(true)
  })

  it('handles the maximum of 256 shards', () => {
    const data = shardsOf(200, 64)
    const parity = rsEncodeSync(data, 56)
    const all: (Buffer | null)[] = [...data, ...parity]
    for (const i of shuffled([...Array(256).keys()]).slice(0, 56)) all[i] = null
    const got = rsReconstructSync(all, 200)
    got.forEach((g, i) => expect(g.equals(data[i])).toBe(true))
  })
})

describe('Reed-Solomon reconstruct (property tests)', () => {
  it('random data, random erasures of up to m shards anywhere -> exact recovery (sync + async)', async () => {
    for (let t = 0; t < 150; t++) {
      const k = randomInt(1, 24)
      const m = randomInt(1, 10)
      const len = randomInt(1, 5000)
      const data = shardsOf(k, len)
      const parity = rsEncodeSync(data, m)
      const lose = randomInt(0, m + 1)
      const lost = new Set(shuffled([...Array(k + m).keys()]).slice(0, lose))
      const shards = [...data, ...parity].map((s, i) => (lost.has(i) ? null : s))
      const sync = rsReconstructSync(shards, k)
      const async_ = await rsReconstruct(shards, k)
      expect(sync).toHaveLength(k)
      expect(async_).toHaveLength(k)
      for (let i = 0; i < k; i++) {
        expect(sync[i].equals(data[i])).toBe(true)
        expect(async_[i].equals(data[i])).toBe(true)
        // present data shards come back as the very same objects
        if (!lost.has(i)) {
          expect(sync[i]).toBe(data[i])
          expect(async_[i]).toBe(data[i])
        }
      }
    }
  })

  it('undefined also means missing', () => {
    const data = shardsOf(4, 300)
    const parity = rsEncodeSync(data, 2)
    const got = rsReconstructSync([undefined, data[1], undefined, data[3], ...parity], 4)
    got.forEach((g, i) => expect(g.equals(data[i])).toBe(true))
  })

  it('more than m missing -> ERR_TOO_FEW_SHARDS (sync throws, async rejects)', async () => {
    for (let t = 0; t < 40; t++) {
      const k = randomInt(1, 16)
      const m = randomInt(1, 8)
      const data = shardsOf(k, randomInt(1, 500))
      const parity = rsEncodeSync(data, m)
      const lose = randomInt(m + 1, k + m + 1)
      const lost = new Set(shuffled([...Array(k + m).keys()]).slice(0, lose))
      const shards = [...data, ...parity].map((s, i) => (lost.has(i) ? null : s))
      expect(() => rsReconstructSync(shards, k)).toThrow(expect.objectContaining({ code: 'ERR_TOO_FEW_SHARDS' }))
      await expect(rsReconstruct(shards, k)).rejects.toMatchObject({ code: 'ERR_TOO_FEW_SHARDS' })
    }
  })

  it('10+4 with 64 KiB shards, every pattern of 4 missing shards (all C(14,4) = 1,001)', async () => {
    const data = shardsOf(10, 65536)
    const parity = await rsEncode(data, 4)
    let patterns = 0
    for (let a = 0; a < 14; a++) {
      for (let b = a + 1; b < 14; b++) {
        for (let c = b + 1; c < 14; c++) {
          for (let d = c + 1; d < 14; d++) {
            const lost = [a, b, c, d]
            const got = rsReconstructSync([...data, ...parity].map((s, i) => (lost.includes(i) ? null : s)), 10)
            if (!got.every((g, i) => g.equals(data[i]))) throw new Error(`pattern ${lost.join(',')} rebuilt wrong bytes`)
            patterns++
          }
        }
      }
    }
    expect(patterns).toBe(1001)
  })

  it('async calls keep their Buffers alive even if the caller drops them mid-flight (forced GC)', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const expected: Buffer[][] = []
    const pending: Promise<Buffer[]>[] = []
    for (let t = 0; t < 8; t++) {
      let data: (Buffer | null)[] = shardsOf(8, 200_000)
      const parity = rsEncodeSync(data as Buffer[], 3)
      expected.push(data.map(d => Buffer.from(d as Buffer)))
      const holes = [...data, ...parity].map((s, i) => (i < 3 ? null : s))
      pending.push(rsReconstruct(holes, 8))
      // drop every JS reference we hold to the inputs
      holes.length = 0
      data.length = 0
      data = []
    }
    gc()
    gc()
    const results = await Promise.all(pending)
    results.forEach((got, t) => got.forEach((g, i) => expect(g.equals(expected[t][i])).toBe(true)))
  })

  it('many concurrent async calls resolve correctly', async () => {
    const jobs = Array.from({ length: 64 }, async () => {
      const data = shardsOf(6, randomInt(1, 30_000))
      const parity = await rsEncode(data, 3)
      const shards = [...data, ...parity].map((s, i) => (i === 0 || i === 4 || i === 7 ? null : s))
      const got = await rsReconstruct(shards, 6)
      got.forEach((g, i) => expect(g.equals(data[i])).toBe(true))
    })
    await Promise.all(jobs)
  })
})
