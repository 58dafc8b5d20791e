import { describe, expect, it } from '@jest/globals'
import { Bitfield } from '../src/bitfield.js'
import { SuperSeeder } from '../src/super-seed.js'
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
