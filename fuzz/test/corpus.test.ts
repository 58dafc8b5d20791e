import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import fc from 'fast-check'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crashDir, decodeInput, encodeInput, readInputs, replay, runTarget, storeInput, targets, type Target } from '../src/index.js'
import { frameLengthDecoder, lengthLength } from '@codio/exchange'
import { Uint8ArrayList } from 'uint8arraylist'

describe('stored inputs', () => {
  test('encode to JSON and back: bytes, bigints, NaN, -0, undefined, __proto__ keys', () => {
    const value = [{ a: Uint8Array.of(0, 255, 7), b: 2n ** 64n - 1n, c: [NaN, Infinity, -Infinity, -0, 1.5], d: undefined, e: null, f: 's' }, JSON.parse('{"__proto__":{"polluted":1}}')]
    const back = decodeInput(JSON.parse(JSON.stringify(encodeInput(value)))) as any[]
    expect(back[0]).toEqual(value[0])
    expect(Object.is(back[0].c[3], -0)).toBe(true)
    expect('d' in back[0]).toBe(true)
    expect(Object.getOwnPropertyNames(back[1])).toEqual(['__proto__'])
    expect(({} as any).polluted).toBeUndefined()
  })

  test('every target has a committed corpus, and every stored input names its target', () => {
    for (const t of targets) expect({ t: t.name, n: readInputs(join(crashDir(t.name), '..', '..', 'corpus', t.name)).length > 0 }).toEqual({ t: t.name, n: true })
    const names = new Set(targets.map(t => t.name))
    for (const dir of ['corpus', 'crashes']) {
      for (const d of readdirSync(join(crashDir('x'), '..', '..', dir))) expect({ dir, d, known: names.has(d) }).toEqual({ dir, d, known: true })
    }
  })
})

describe('a run keeps what fails', () => {
  let dir: string
  const saved = process.env.FUZZ_DIR
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'codio-fuzz-corpus-')); process.env.FUZZ_DIR = dir })
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); if (saved === undefined) delete process.env.FUZZ_DIR; else process.env.FUZZ_DIR = saved })

  // a parser that breaks above 1000: what the run finds is saved shrunk, then fails every replay
  const brittle: Target = { name: 'test.brittle', property: () => fc.property(fc.nat(), fc.string(), (n: number, _s: string) => n <= 1000) }

  test('a failing generated input is saved shrunk in crashes/<target>/ and replayed from then on', async () => {
    await expect(runTarget(brittle, 5000)).rejects.toThrow(/kept in .*crashes\/test\.brittle\/crash-[0-9a-f]{12}\.json/)
    const kept = readInputs(crashDir('test.brittle'))
    expect(kept.map(k => k.input)).toEqual([[1001, '']])
    // from now on the stored crash fails the target before any generated input
    await expect(runTarget(brittle, 1)).rejects.toThrow(/crash-[0-9a-f]{12}\.json fails/)
    await expect(replay(brittle.property() as any, kept[0])).rejects.toThrow(/fails/)
  })

  test('a corpus input runs first, and new behaviours join the corpus when asked', async () => {
    const seen: unknown[] = []
    const t: Target = { name: 'test.recorder', property: () => fc.property(fc.nat({ max: 3 }), n => { seen.push(n); return true }) }
    storeInput(join(dir, 'corpus', 'test.recorder'), 'seed', [42], 'a seed')
    const r = await runTarget(t, 10)
    expect(seen[0]).toBe(42)
    expect(r.replayed).toBe(1)
    expect(r.added).toEqual([])
  })
})

describe('the frame length decoder (libs/exchange) against the reference', () => {
  test('a prefix of max bytes all with the high bit set fails typed; shorter ones ask for more', () => {
    const max = lengthLength(8 * 1024 * 1024 + 4096)
    expect(max).toBe(4)
    const decode = frameLengthDecoder(max)
    for (let n = 1; n < max; n++) expect(() => decode(new Uint8ArrayList(new Uint8Array(n).fill(0xff)))).toThrow(RangeError)
    expect(() => decode(new Uint8ArrayList(new Uint8Array(max).fill(0xff)))).toThrow(expect.objectContaining({ name: 'InvalidDataLengthLengthError' }))
    expect(decode(new Uint8ArrayList(Uint8Array.of(0xff, 0xff, 0xff, 0x7f)))).toBe(2 ** 28 - 1)
    expect(decode(new Uint8ArrayList(Uint8Array.of(0x80, 0x00)))).toBe(0)
  })
})
