import { describe, expect, it } from '@jest/globals'
import { Bitfield } from '@codio/bitfield'
import { IN_ORDER_REVEALS_FACTOR, SuperSeeder } from '../src/super-seed.js'
import { seeded } from './helpers.js'

describe('SuperSeeder (BEP 16)', () => {
  it('reveals nothing to a choked peer and up to the quota once unchoked', () => {
    const s = new SuperSeeder<string>(20, { revealsPerPeer: 3, random: seeded(1) })
    s.addPeer('a', new Bitfield(20))
    expect(s.have('a', 5).size).toBe(0)
    const shown = s.unchoke('a')
    expect(shown).toHaveLength(3)
    expect(shown).not.toContain(5)
    s.addPeer('b', new Bitfield(20))
    // a reveal stays charged until the chunk is seen at another peer too (BEP 16)
    expect(s.have('a', shown[0]).size).toBe(0)
    const more = s.have('b', shown[0]).get('a')!
    expect(more).toHaveLength(1)
    expect(shown).not.toContain(more[0])
    s.choke('a')
    expect(s.have('b', shown[1]).size).toBe(0)
    expect(s.have('a', shown[1]).size).toBe(0)
    expect(s.unchoke('a')).toHaveLength(1)
  })

  it(`an in-order peer (one streaming to a reader) is shown the lowest chunks it lacks, ${IN_ORDER_REVEALS_FACTOR}× revealsPerPeer at a time, within the copy limit`, () => {
    const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, k) => from + k)
    for (let seed = 1; seed <= 10; seed++) {
      const s = new SuperSeeder<string>(100, { revealsPerPeer: 4, random: seeded(seed) })
      const window = IN_ORDER_REVEALS_FACTOR * 4
      const held = new Bitfield(100)
      held.set(1)
      s.addPeer('edge', held, { inOrder: true })
      expect(s.unchoke('edge')).toEqual([0, ...range(2, window - 1)])
      // the next reveal follows the reader once a chunk is passed on (a peer alone: at once)
      expect(s.have('edge', 0).get('edge')).toEqual([window + 1])
      // a chunk already in maxCopies (1) places is not shown again: a second in-order peer
      // starts past what the first holds or was shown
      s.addPeer('edge2', new Bitfield(100), { inOrder: true })
      expect(s.unchoke('edge2')).toEqual(range(window + 2, window))
      // a peer without the option still gets revealsPerPeer of the least present chunks, in random order
      s.addPeer('relay', new Bitfield(100))
      const shown = s.unchoke('relay')
      expect(shown).toHaveLength(4)
      for (const i of shown) expect(i).toBeGreaterThanOrEqual(2 * window + 2)
    }
  })

  it('a peer alone needs no second holder', () => {
    const s = new SuperSeeder<string>(8, { revealsPerPeer: 2, random: seeded(2) })
    s.addPeer('a', new Bitfield(8))
    const [x] = s.unchoke('a')
    expect(s.have('a', x).get('a')).toHaveLength(1)
  })

  it('gives different peers different chunks, preferring the ones nobody holds', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const s = new SuperSeeder<string>(12, { revealsPerPeer: 2, random: seeded(seed) })
      const held = new Bitfield(12)
      for (const i of [0, 1, 2, 3, 4, 5]) held.set(i)
      s.addPeer('seedless', held)
      s.addPeer('a', new Bitfield(12))
      s.addPeer('b', new Bitfield(12))
      s.addPeer('c', new Bitfield(12))
      const shown = [...s.unchoke('a'), ...s.unchoke('b'), ...s.unchoke('c')]
      // six chunks nobody holds, six reveals: each goes out once, none of those a peer holds
      expect(new Set(shown).size).toBe(6)
      for (const i of shown) expect(i).toBeGreaterThanOrEqual(6)
    }
  })

  it('a peer announcing a revealed chunk frees its slot; a departed peer returns its reveals', () => {
    const s = new SuperSeeder<string>(4, { revealsPerPeer: 1, random: seeded(3) })
    s.addPeer('a', new Bitfield(4))
    s.addPeer('b', new Bitfield(4))
    const [x] = s.unchoke('a')
    const [y] = s.unchoke('b')
    expect(y).not.toBe(x)
    // b alone after a leaves: what it holds needs no second holder
    expect(s.have('b', y).size).toBe(0)
    const next = s.removePeer('a').get('b')!
    expect(next).toHaveLength(1)
    expect([x, y]).not.toContain(next[0])
    expect(s.holders(x)).toBe(0)
    expect(s.holders(y)).toBe(1)
  })

  it('rejects bad sizes and bitfields', () => {
    expect(() => new SuperSeeder(0)).toThrow(RangeError)
    expect(() => new SuperSeeder(4, { revealsPerPeer: 0 })).toThrow(RangeError)
    expect(() => new SuperSeeder(4, { maxCopies: 0 })).toThrow(RangeError)
    expect(() => new SuperSeeder(4).addPeer('a', new Bitfield(5))).toThrow(RangeError)
  })

  it('spends a fractional budget of second copies and no more (maxCopies 1, 1.5, 2)', () => {
    for (const [copies, second] of [[1, 0], [1.5, 4], [2, 8]]) {
      const s = new SuperSeeder<string>(8, { revealsPerPeer: 8, maxCopies: copies, random: seeded(5) })
      s.addPeer('a', new Bitfield(8))
      s.addPeer('b', new Bitfield(8))
      // every chunk goes out once first, all to a here
      expect(s.unchoke('a')).toHaveLength(8)
      const again = s.unchoke('b')
      expect(again).toHaveLength(second)
      expect(new Set(again).size).toBe(second)
    }
    expect(() => new SuperSeeder(4, { maxCopies: 0.5 })).toThrow(RangeError)
    expect(() => new SuperSeeder(4, { maxCopies: Number.NaN })).toThrow(RangeError)
  })

  it('simulated swarm: the seed uploads about one copy before peers finish among themselves', () => {
    // rounds: the seed serves one revealed chunk to each of 4 unchoked peers; every peer then
    // gets one chunk it lacks from another peer that holds it (BEP 3 exchange). Without the
    // BEP 16 charge and the copy limit the seed would serve 4 chunks every round, about
    // 2·size here.
    const size = 128
    const peers = Array.from({ length: 16 }, (_, i) => `p${i}`)
    const s = new SuperSeeder<string>(size, { revealsPerPeer: 4, random: seeded(7) })
    const has = new Map(peers.map(p => [p, new Bitfield(size)]))
    const shown = new Map(peers.map(p => [p, new Set<number>()]))
    for (const p of peers) s.addPeer(p, new Bitfield(size))
    for (const p of peers.slice(0, 4)) for (const i of s.unchoke(p)) shown.get(p)!.add(i)
    let seedUploads = 0
    const rand = seeded(11)
    const give = (p: string, i: number): void => {
      has.get(p)!.set(i)
      for (const [q, js] of s.have(p, i)) for (const j of js) shown.get(q)!.add(j)
    }
    for (let round = 0; round < 10_000 && peers.some(p => !has.get(p)!.isFull()); round++) {
      for (const p of peers.slice(0, 4)) {
        const want = [...shown.get(p)!].find(i => !has.get(p)!.has(i))
        if (want != null) { give(p, want); seedUploads++ }
      }
      for (const p of peers) {
        const mine = has.get(p)!
        const wants = Array.from({ length: size }, (_, i) => i).filter(i => !mine.has(i) && peers.some(q => q !== p && has.get(q)!.has(i)))
        if (wants.length > 0) give(p, wants[Math.floor(rand() * wants.length)])
      }
    }
    expect(peers.every(p => has.get(p)!.isFull())).toBe(true)
    expect(seedUploads).toBeGreaterThanOrEqual(size)
    expect(seedUploads).toBeLessThanOrEqual(size * 1.3)
  })
})

describe('SuperSeeder: isolated peers', () => {
  it('feeds a peer that gets nothing from anyone else beyond the copy limit, and not before', () => {
    let now = 0
    const s = new SuperSeeder<string>(8, { revealsPerPeer: 2, isolationMs: 5000, now: () => now, random: seeded(5) })
    s.addPeer('a', new Bitfield(8))
    s.addPeer('b', new Bitfield(8))
    const got = { a: new Set<number>(), b: new Set<number>() }
    const take = (peer: 'a' | 'b', reveals: Map<string, number[]>): void => {
      for (const [k, is] of reveals) if (k === peer) for (const i of is) got[peer].add(i)
    }
    take('a', new Map([['a', s.unchoke('a')]]))
    take('b', new Map([['b', s.unchoke('b')]]))
    // a and b never trade (they choke each other): each holds what it was shown, charged
    for (const peer of ['a', 'b'] as const) for (const i of [...got[peer]]) s.have(peer, i)
    expect(s.tick().size).toBe(0)
    now = 6000
    // isolated now: their charges are released and they are shown more, past maxCopies = 1
    const fed = s.tick()
    expect(fed.get('a')?.length).toBe(2)
    expect(fed.get('b')?.length).toBe(2)
    take('a', fed)
    take('b', fed)
    // a chunk from elsewhere (one the seed never showed a) ends a's isolation
    const fromB = [...got.b].find(i => !got.a.has(i))!
    expect(fromB).toBeDefined()
    s.have('a', fromB)
    expect(s.tick().has('a')).toBe(false)
  })
})

describe('SuperSeeder: hoarders (issue 19 defect 9)', () => {
  /** Collect what each peer is shown. */
  function shown (got: Map<string, Set<number>>, reveals: Map<string, number[]> | [string, number[]]): void {
    const entries = Array.isArray(reveals) ? [reveals] : [...reveals]
    for (const [k, is] of entries) {
      const set = got.get(k) ?? new Set<number>()
      got.set(k, set)
      for (const i of is) set.add(i)
    }
  }

  it('reveals what a peer that re-serves nothing holds to the others after a few fetch times, not after the isolation time', () => {
    let now = 0
    // four chunks: two shown to each peer, and the hoarder's two are all the edge lacks
    const s = new SuperSeeder<string>(4, { revealsPerPeer: 2, isolationMs: 5000, now: () => now, random: seeded(7) })
    const got = new Map<string, Set<number>>()
    s.addPeer('hoarder', new Bitfield(4))
    s.addPeer('edge', new Bitfield(4))
    shown(got, ['hoarder', s.unchoke('hoarder')])
    now = 10
    for (const i of got.get('hoarder')!) s.have('hoarder', i)
    shown(got, ['edge', s.unchoke('edge')])
    now = 20
    for (const i of [...got.get('edge')!]) shown(got, s.have('edge', i))
    const hoarded = [...got.get('hoarder')!]
    expect(hoarded.some(i => got.get('edge')!.has(i))).toBe(false)
    // the hoarder has served nothing to anyone for 2 × the median fetch time (10 ms), at least 250 ms
    now = 300
    shown(got, s.tick())
    for (const i of hoarded) expect(got.get('edge')!.has(i)).toBe(true)
  })

  it('shows a peer that takes and never passes on one chunk at a time while the others trade', () => {
    let now = 0
    const s = new SuperSeeder<string>(12, { revealsPerPeer: 3, isolationMs: 5000, now: () => now, random: seeded(3) })
    const got = new Map<string, Set<number>>()
    for (const k of ['a', 'b', 'hoarder']) s.addPeer(k, new Bitfield(12))
    for (const k of ['a', 'b', 'hoarder']) shown(got, [k, s.unchoke(k)])
    now = 10
    for (const k of ['a', 'b', 'hoarder']) for (const i of [...got.get(k)!]) shown(got, s.have(k, i))
    // a and b trade what they got (each announces the other's chunks: they came from a peer)
    for (const [from, to] of [['a', 'b'], ['b', 'a']]) {
      for (const i of [...got.get(from)!]) if (!got.get(to)!.has(i)) shown(got, s.have(to, i))
    }
    const before = got.get('hoarder')!.size
    const hoarded = [...got.get('hoarder')!]
    now = 400
    shown(got, s.tick())
    expect(got.get('hoarder')!.size).toBe(before)
    // what only the hoarder holds goes to the peers that trade
    for (const i of hoarded) expect(got.get('a')!.has(i) || got.get('b')!.has(i)).toBe(true)
  })
})

describe('SuperSeeder: edges of the API', () => {
  const field = (size: number, chunks: number[]): Bitfield => {
    const bf = new Bitfield(size)
    for (const i of chunks) bf.set(i)
    return bf
  }

  it('says what is wrong in its errors, and takes a content of one chunk', () => {
    expect(() => new SuperSeeder(0)).toThrow('content size must be a positive integer, got 0')
    expect(() => new SuperSeeder(4, { revealsPerPeer: 0 })).toThrow('revealsPerPeer must be a positive integer, got 0')
    expect(() => new SuperSeeder(4, { maxCopies: 0.5 })).toThrow('maxCopies must be a number ≥ 1, got 0.5')
    expect(() => new SuperSeeder(4).addPeer('a', new Bitfield(5))).toThrow('bitfield of 5 chunks for a content of 4')
    const one = new SuperSeeder<string>(1, { random: seeded(1) })
    one.addPeer('a', new Bitfield(1))
    expect(one.unchoke('a')).toEqual([0])
  })

  it('works with its default clock and randomness', () => {
    const s = new SuperSeeder<string>(4)
    s.addPeer('a', new Bitfield(4))
    const shown = s.unchoke('a')
    expect(shown.sort()).toEqual([0, 1, 2, 3])
    expect(s.graceMs()).toBe(5000) // no fetch time measured yet: the isolation time
    s.have('a', shown[0])
    // the default clock measured that fetch (microseconds apart: under the 2.5 s that would reach the cap)
    expect(s.graceMs()).toBeGreaterThanOrEqual(250)
    expect(s.graceMs()).toBeLessThan(5000)
  })

  it('ignores unknown peers and out-of-range or repeated announcements', () => {
    const s = new SuperSeeder<string>(4, { random: seeded(2) })
    expect(s.unchoke('nobody')).toEqual([])
    s.choke('nobody')
    expect(s.have('nobody', 0).size).toBe(0)
    expect(s.removePeer('nobody').size).toBe(0)
    s.addPeer('a', new Bitfield(4))
    for (const i of [-1, 4, 1.5]) expect(s.have('a', i).size).toBe(0)
    s.have('a', 2)
    s.have('a', 2)
    expect(s.holders(2)).toBe(1)
    expect(s.holders(4)).toBe(0)
  })

  it('counts holders from bitfields, a re-added peer once, and forgets a peer that left', () => {
    const s = new SuperSeeder<string>(4, { random: seeded(3) })
    s.addPeer('a', field(4, [0, 1]))
    s.addPeer('a', field(4, [0]))
    s.addPeer('b', field(4, [0]))
    expect([0, 1, 2, 3].map(i => s.holders(i))).toEqual([2, 0, 0, 0])
    // a choked peer is not shown anything when another leaves, and the answer lists nobody
    expect(s.removePeer('b').size).toBe(0)
    expect([0, 1, 2, 3].map(i => s.holders(i))).toEqual([1, 0, 0, 0])
  })

  it('a departed peer\'s reveals, fetched or not, go to the next peer', () => {
    const s = new SuperSeeder<string>(2, { revealsPerPeer: 2, random: seeded(4) })
    s.addPeer('a', new Bitfield(2))
    expect(s.unchoke('a').sort()).toEqual([0, 1])
    s.have('a', 0) // fetched one, not the other
    s.removePeer('a')
    s.addPeer('b', new Bitfield(2))
    expect(s.unchoke('b').sort()).toEqual([0, 1])
  })

  it('never reveals a chunk the peer holds, even when a second copy is allowed', () => {
    const s = new SuperSeeder<string>(4, { revealsPerPeer: 4, maxCopies: 2, random: seeded(5) })
    s.addPeer('a', field(4, [0, 1, 2]))
    expect(s.unchoke('a')).toEqual([3])
  })

  it('reveals the least present chunk first when several copies are allowed', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const s = new SuperSeeder<string>(2, { revealsPerPeer: 1, maxCopies: 3, random: seeded(seed) })
      s.addPeer('p1', field(2, [0]))
      s.addPeer('p2', field(2, [0]))
      s.addPeer('p3', field(2, [1]))
      s.addPeer('x', new Bitfield(2))
      expect(s.unchoke('x')).toEqual([1])
    }
  })

  it('a chunk revealed to two peers (a second copy) frees both once both hold it', () => {
    const s = new SuperSeeder<string>(2, { revealsPerPeer: 1, maxCopies: 2, random: seeded(6) })
    for (const k of ['a', 'b', 'c']) s.addPeer(k, new Bitfield(2))
    const [x] = s.unchoke('a')
    const [y] = s.unchoke('b')
    expect(y).not.toBe(x)
    const [z] = s.unchoke('c')
    const sharer = z === x ? 'a' : 'b'
    s.have(sharer, z)
    const out = s.have('c', z)
    expect(out.get(sharer)).toEqual([z === x ? y : x])
  })

  it('a choked peer\'s reveals stay charged through a tick, even when it is isolated', () => {
    let now = 0
    const s = new SuperSeeder<string>(8, { revealsPerPeer: 2, isolationMs: 5000, now: () => now, random: seeded(7) })
    s.addPeer('a', new Bitfield(8))
    s.addPeer('b', new Bitfield(8))
    const shown = s.unchoke('a')
    for (const i of shown) s.have('a', i)
    s.choke('a')
    now = 6000
    expect(s.tick().size).toBe(0)
    expect(s.unchoke('a')).toEqual([])
  })
})

describe('SuperSeeder: grace and fetch times', () => {
  /** Seeder whose peers a, b, c are shown every chunk at 0, `bAt` and `cAt` ms: each `have` then is one fetch-time sample. */
  function timed (size: number, bAt: number, cAt: number): { s: SuperSeeder<string>, at: (t: number) => void } {
    let now = 0
    const s = new SuperSeeder<string>(size, { revealsPerPeer: size, maxCopies: 3, isolationMs: 100_000, now: () => now, random: seeded(8) })
    for (const k of ['a', 'b', 'c']) s.addPeer(k, new Bitfield(size))
    expect(s.unchoke('a')).toHaveLength(size)
    now = bAt
    expect(s.unchoke('b')).toHaveLength(size)
    now = cAt
    expect(s.unchoke('c')).toHaveLength(size)
    return { s, at: (t: number) => { now = t } }
  }

  it('is twice the median fetch time, at least 250 ms, at most the isolation time', () => {
    const { s, at } = timed(4, 2900, 2000)
    expect(s.graceMs()).toBe(100_000)
    s.addPeer('d', new Bitfield(4))
    s.have('d', 3) // a chunk nobody showed the peer is no sample
    expect(s.graceMs()).toBe(100_000)
    at(3000)
    s.have('a', 0) // 3000 ms
    expect(s.graceMs()).toBe(6000)
    s.have('b', 1) // 100 ms
    s.have('c', 2) // 1000 ms
    expect(s.graceMs()).toBe(2000) // median of 100, 1000, 3000
    s.have('b', 3) // 100: median of 100, 100, 1000, 3000 is 1000
    expect(s.graceMs()).toBe(2000)
    s.have('b', 0)
    s.have('b', 2) // 100 ×4, 1000, 3000
    expect(s.graceMs()).toBe(250)
    s.have('d', 1)
    expect(s.graceMs()).toBe(250)
  })

  it('keeps the last 32 samples', () => {
    const { s, at } = timed(64, 900, 1000)
    at(1000)
    s.have('a', 0) // 1000 ms, then 16 of 100 ms, 15 of 1000 ms: the median of 32 is 1000
    for (let i = 1; i <= 16; i++) s.have('b', i)
    for (let i = 17; i <= 31; i++) s.have('a', i)
    expect(s.graceMs()).toBe(2000)
  })

  it('forgets samples older than the last 32', () => {
    const { s, at } = timed(64, 2900, 1000)
    at(3000)
    for (let i = 0; i < 32; i++) s.have('a', i) // 32 of 3000 ms
    expect(s.graceMs()).toBe(6000)
    for (let i = 32; i < 64; i++) s.have('b', i) // then 32 of 100 ms
    expect(s.graceMs()).toBe(250)
  })
})

describe('SuperSeeder: who counts as a holder', () => {
  const field = (size: number, chunks: number[]): Bitfield => {
    const bf = new Bitfield(size)
    for (const i of chunks) bf.set(i)
    return bf
  }

  it('the grace runs from the first chunk a peer holds: its bitfield, else its first have', () => {
    for (const joinsWith of [[], [4]]) {
      let now = 0
      const s = new SuperSeeder<string>(5, { revealsPerPeer: 2, isolationMs: 1_000_000, now: () => now, random: seeded(9) })
      s.addPeer('x', field(5, joinsWith))
      now = 1000
      s.addPeer('y', new Bitfield(5))
      const ys = s.unchoke('y')
      const xs = s.unchoke('x')
      now = 1010
      for (const i of xs) s.have('x', i)
      now = 1020
      for (const i of ys) s.have('y', i) // fetch times 10, 10, 20, 20: grace 250 ms
      now = 1100
      s.addPeer('z', new Bitfield(5))
      const zs = s.unchoke('z')
      if (joinsWith.length === 0) {
        // x's grace runs from 1010: it still counts, only the chunk nobody has is left
        expect(zs).toEqual([0, 1, 2, 3, 4].filter(i => !xs.includes(i) && !ys.includes(i)))
      } else {
        // x has held chunk 4 since 0 and passed nothing on: what it holds goes to z
        expect(zs).toHaveLength(2)
        for (const i of zs) expect([4, ...xs]).toContain(i)
      }
    }
  })

  it('a peer that joined holding chunks and took nothing from the seed keeps counting', () => {
    let now = 0
    const s = new SuperSeeder<string>(4, { revealsPerPeer: 4, isolationMs: 1_000_000, now: () => now, random: seeded(10) })
    s.addPeer('holder', field(4, [0, 1]))
    s.addPeer('c', new Bitfield(4))
    expect(s.unchoke('c').sort()).toEqual([2, 3])
    now = 10
    s.have('c', 2)
    s.have('c', 3)
    now = 1000 // c has passed nothing on past its grace (250 ms); holder took nothing
    s.addPeer('z', new Bitfield(4))
    expect(s.unchoke('z').sort()).toEqual([2, 3])
  })

  it('a peer gets credit for passing on only the chunks it holds', () => {
    let now = 0
    const s = new SuperSeeder<string>(4, { revealsPerPeer: 3, isolationMs: 1_000_000, now: () => now, random: seeded(11) })
    s.addPeer('h', new Bitfield(4))
    s.addPeer('e', new Bitfield(4))
    const hs = s.unchoke('h')
    expect(hs).toHaveLength(3)
    now = 10
    s.have('h', hs[0])
    s.have('h', hs[1]) // not hs[2]
    now = 20
    s.have('e', hs[2]) // e got hs[2] elsewhere: not from h, which does not hold it
    now = 1000
    s.addPeer('z', new Bitfield(4))
    const untouched = [0, 1, 2, 3].filter(i => !hs.includes(i))
    expect(s.unchoke('z').sort()).toEqual([...untouched, hs[0], hs[1]].sort())
  })

  it('holders that do not count are recounted afresh: one that counts still does', () => {
    let now = 0
    const s = new SuperSeeder<string>(4, { revealsPerPeer: 4, isolationMs: 1_000_000, now: () => now, random: seeded(12) })
    s.addPeer('holder', field(4, [0]))
    s.addPeer('c', field(4, [0]))
    expect(s.unchoke('c').sort()).toEqual([1, 2, 3])
    now = 10
    for (const i of [1, 2, 3]) s.have('c', i)
    now = 1000
    s.tick()
    now = 1200
    s.tick()
    s.addPeer('z', new Bitfield(4))
    // 0 is at holder, which counts; c's chunks are as good as nowhere
    expect(s.unchoke('z').sort()).toEqual([1, 2, 3])
  })

  it('recounts holders when it reveals, not only at ticks', () => {
    let now = 0
    const s = new SuperSeeder<string>(4, { revealsPerPeer: 2, isolationMs: 1_000_000, now: () => now, random: seeded(13) })
    s.addPeer('h', new Bitfield(4))
    s.addPeer('e', new Bitfield(4))
    const hs = s.unchoke('h')
    const es = s.unchoke('e')
    now = 10
    for (const i of hs) s.have('h', i)
    now = 20
    for (const i of es) s.have('e', i)
    now = 260 // h's grace (250 ms) is over, e's is not
    s.addPeer('z', new Bitfield(4))
    expect(s.unchoke('z').sort()).toEqual([...hs].sort())
  })

  it('shows a peer that passes nothing on one chunk at a time while another counts', () => {
    let now = 0
    const s = new SuperSeeder<string>(8, { revealsPerPeer: 3, isolationMs: 1_000_000, now: () => now, random: seeded(14) })
    s.addPeer('holder', field(8, [0]))
    s.addPeer('c', new Bitfield(8))
    const cs = s.unchoke('c')
    expect(cs).toHaveLength(3)
    now = 10
    for (const i of cs) s.have('c', i)
    now = 1000
    expect(s.tick().get('c')).toHaveLength(1)
  })

  it('feeds an isolated peer at a tick even when every holder counts', () => {
    let now = 0
    const s = new SuperSeeder<string>(8, { revealsPerPeer: 2, isolationMs: 5000, now: () => now, random: seeded(15) })
    s.addPeer('a', new Bitfield(8))
    s.addPeer('b', new Bitfield(8))
    const first = s.unchoke('a')
    now = 10
    for (const i of first) s.have('a', i)
    now = 20
    const second: number[] = []
    for (const i of first) second.push(...(s.have('b', i).get('a') ?? [])) // b got them from a: a passes on
    expect(second).toHaveLength(2)
    now = 30
    for (const i of second) s.have('a', i)
    now = 5000 // a got nothing from anyone for 5 s; it passed on 2 of 4, so it counts
    expect(s.tick().get('a')).toHaveLength(2)
  })
})
