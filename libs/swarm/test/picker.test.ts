import { describe, expect, it } from '@jest/globals'
import { Bitfield } from '@codio/bitfield'
import { PiecePicker, type PickStrategy } from '../src/picker.js'
import { seeded } from './helpers.js'

function field (size: number, pieces: Iterable<number>): Bitfield {
  const bf = new Bitfield(size)
  for (const i of pieces) bf.set(i)
  return bf
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k)
const any = (): boolean => true

describe('PiecePicker', () => {
  it('rarest-first: pieces only one peer has come before the common ones', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const picker = new PiecePicker({ pieces: 4, random: seeded(seed) })
      picker.addPeer('a', field(4, [0, 1, 2]))
      picker.addPeer('b', field(4, [0, 1, 3]))
      picker.addPeer('c', field(4, [0, 1]))
      expect([0, 1, 2, 3].map(i => picker.availability(i))).toEqual([3, 3, 1, 1])
      const taken = new Set<number>()
      const order: number[] = []
      for (const peer of ['a', 'b', 'a', 'b']) {
        const i = picker.pick(peer, i => !taken.has(i))!
        taken.add(i)
        order.push(i)
      }
      expect(order.slice(0, 2)).toEqual([2, 3])
      expect(order.slice(2).sort()).toEqual([0, 1])
      expect(picker.pick('c', i => !taken.has(i))).toBeUndefined()
    }
  })

  it('rarest-first breaks ties uniformly at random, whether it probes classes or walks a sparse peer', () => {
    // 200 pieces all held by one rich peer (class walk), and a sparse peer holding 10 of 1000
    for (const [pieces, held] of [[200, range(0, 200)], [1000, range(0, 10).map(k => k * 97)]] as const) {
      const random = seeded(pieces)
      const firsts = new Map<number, number>()
      const trials = 4000
      for (let t = 0; t < trials; t++) {
        const picker = new PiecePicker({ pieces, random })
        picker.addPeer('p', field(pieces, held))
        const i = picker.pick('p', any)!
        firsts.set(i, (firsts.get(i) ?? 0) + 1)
      }
      // every tied piece comes first sometimes, none much more than its share
      expect(firsts.size).toBe(held.length)
      const share = trials / held.length
      for (const n of firsts.values()) expect(n).toBeLessThan(share * 3 + 10)
    }
  })

  it('always returns a piece of least availability among the candidates (checked against brute force)', () => {
    const random = seeded(7)
    for (let round = 0; round < 60; round++) {
      const pieces = 1 + Math.floor(random() * 300)
      const picker = new PiecePicker({ pieces, random })
      const holds = new Map<string, Set<number> | 'all'>()
      const peerCount = 1 + Math.floor(random() * 12)
      for (let p = 0; p < peerCount; p++) {
        const density = random() < 0.3 ? 0.03 : random()
        const set = new Set(range(0, pieces).filter(() => random() < density))
        if (random() < 0.1) {
          holds.set(`p${p}`, 'all')
          picker.addPeer(`p${p}`, 'all')
        } else {
          holds.set(`p${p}`, set)
          picker.addPeer(`p${p}`, field(pieces, set))
        }
      }
      for (let h = 0; h < 50; h++) { // some `have`s
        const p = `p${Math.floor(random() * peerCount)}`
        const i = Math.floor(random() * pieces)
        picker.have(p, i)
        const s = holds.get(p)
        if (s !== 'all') s!.add(i)
      }
      const avail = (i: number): number => [...holds.values()].filter(s => s === 'all' || s.has(i)).length
      for (let i = 0; i < pieces; i++) expect(picker.availability(i)).toBe(avail(i))
      const ours = new Set(range(0, pieces).filter(() => random() < 0.2))
      for (const i of ours) picker.weHave(i)
      const inFlight = new Set(range(0, pieces).filter(() => random() < 0.2))
      const eligible = (i: number): boolean => !inFlight.has(i)
      for (const [peer, s] of holds) {
        const candidates = range(0, pieces).filter(i => (s === 'all' || s.has(i)) && !ours.has(i) && eligible(i))
        const got = picker.pick(peer, eligible)
        if (candidates.length === 0) {
          expect(got).toBeUndefined()
          continue
        }
        expect(candidates).toContain(got)
        expect(avail(got!)).toBe(Math.min(...candidates.map(avail)))
      }
    }
  })

  it('sequential: lowest eligible index from the cursor on, then from the start', () => {
    for (const pieces of [40, 4000]) { // a dense peer and, at 4000, a sparse one
      const picker = new PiecePicker({ pieces, strategy: 'sequential', random: seeded(1) })
      picker.addPeer('p', field(pieces, [3, 5, 6, 9, 20, 30]))
      picker.addPeer('s', 'all')
      const taken = new Set<number>()
      const next = (peer: string): number | undefined => {
        const i = picker.pick(peer, i => !taken.has(i))
        if (i !== undefined) taken.add(i)
        return i
      }
      expect([next('p'), next('p'), next('p')]).toEqual([3, 5, 6])
      expect([next('s'), next('s'), next('s')]).toEqual([0, 1, 2])
      picker.setCursor(10)
      expect([next('p'), next('p'), next('p'), next('p')]).toEqual([20, 30, 9, undefined])
      expect(next('s')).toBe(10)
      picker.weHave(11)
      expect(next('s')).toBe(12)
    }
  })

  it('random: every candidate equally likely', () => {
    const random = seeded(9)
    const pieces = 60
    const counts = new Array(pieces).fill(0)
    const picker = new PiecePicker({ pieces, strategy: 'random', random })
    picker.addPeer('p', field(pieces, range(0, pieces)))
    picker.addPeer('q', field(pieces, range(0, 30))) // availability must not matter
    const eligible = (i: number): boolean => i % 3 !== 0
    for (let t = 0; t < 20_000; t++) counts[picker.pick('p', eligible)!]++
    for (let i = 0; i < pieces; i++) {
      if (i % 3 === 0) expect(counts[i]).toBe(0)
      else expect(Math.abs(counts[i] - 500)).toBeLessThan(100) // 40 candidates, 20 000 picks
    }
  })

  it('serves the streaming window in order first, then rarest-first for the rest', () => {
    const pieces = 100
    const picker = new PiecePicker({ pieces, streamingWindow: 4, random: seeded(3) })
    picker.addPeer('seed', 'all')
    picker.addPeer('a', field(pieces, [...range(0, 100)].filter(i => i !== 12)))
    picker.addPeer('b', field(pieces, range(0, 90))) // 90–99 are the rare ones
    picker.setCursor(10)
    const taken = new Set<number>()
    const order: number[] = []
    for (let k = 0; k < 13; k++) {
      const i = picker.pick('a', i => !taken.has(i))!
      taken.add(i)
      order.push(i)
    }
    expect(order.slice(0, 3)).toEqual([10, 11, 13]) // `a` lacks 12
    expect(order.slice(3).sort((x, y) => x - y)).toEqual(range(90, 100))
    expect(picker.pick('seed', i => !taken.has(i))).toBe(12) // the window's hole, from someone who has it
  })

  it('have() raises availability and removePeer() lowers it, seeders counted once each', () => {
    const picker = new PiecePicker({ pieces: 5, random: seeded(4) })
    picker.addPeer('a', field(5, [0]))
    picker.addPeer('s1', 'all')
    picker.addPeer('s2', Bitfield.full(5)) // a full field is a seeder
    expect(range(0, 5).map(i => picker.availability(i))).toEqual([3, 2, 2, 2, 2])
    picker.have('a', 3)
    picker.have('a', 3)
    picker.have('s1', 4) // no-op for a seeder
    picker.have('late', 1) // a peer that never sent a bitfield
    expect(range(0, 5).map(i => picker.availability(i))).toEqual([3, 3, 2, 3, 2])
    expect(picker.peerHas('late', 1)).toBe(true)
    expect(picker.peerHas('late', 2)).toBe(false)
    expect(picker.peerHas('s1', 2)).toBe(true)
    expect(picker.peerHas('nobody', 2)).toBe(false)
    picker.removePeer('a')
    picker.removePeer('s2')
    picker.removePeer('nobody')
    expect(range(0, 5).map(i => picker.availability(i))).toEqual([1, 2, 1, 1, 1])
    expect(picker.peerCount).toBe(2)
    // now 1 is the common piece: the seeder is asked for the rarer ones first
    const taken = new Set<number>()
    for (let k = 0; k < 4; k++) taken.add(picker.pick('s1', i => !taken.has(i))!)
    expect(taken.has(1)).toBe(false)
  })

  it('re-adding a peer replaces its pieces', () => {
    const picker = new PiecePicker({ pieces: 3 })
    picker.addPeer('a', field(3, [0, 1]))
    picker.addPeer('a', field(3, [2]))
    expect(range(0, 3).map(i => picker.availability(i))).toEqual([0, 0, 1])
    picker.addPeer('a', 'all')
    picker.addPeer('a', field(3, [1]))
    expect(range(0, 3).map(i => picker.availability(i))).toEqual([0, 1, 0])
  })

  it('respects eligibility and what we already have', () => {
    for (const strategy of ['rarest-first', 'sequential', 'random'] as PickStrategy[]) {
      const picker = new PiecePicker({ pieces: 50, strategy, streamingWindow: 5, random: seeded(5) })
      picker.addPeer('p', 'all')
      picker.addPeer('d', field(50, range(0, 40)))
      expect(picker.pick('p', () => false)).toBeUndefined()
      expect(picker.pick('d', () => false)).toBeUndefined()
      expect(picker.pick('d', i => i >= 39)).toBe(39)
      expect(picker.pick('p', i => i === 33)).toBe(33)
      picker.weHave(33)
      expect(picker.pick('p', i => i === 33)).toBeUndefined()
      picker.weDontHave(33)
      expect(picker.pick('p', i => i === 33)).toBe(33)
      for (let i = 0; i < 50; i++) picker.weHave(i)
      expect(picker.pick('p', any)).toBeUndefined()
      expect(picker.pick('stranger', any)).toBeUndefined()
    }
  })

  it('configure() changes strategy and streaming window from the next pick, checking both first', () => {
    const p = new PiecePicker({ pieces: 10, strategy: 'random', streamingWindow: 0 })
    p.addPeer('a', 'all')
    p.configure({ strategy: 'sequential' })
    expect(p.strategy).toBe('sequential')
    expect(p.pick('a', () => true)).toBe(0)
    expect(() => p.configure({ strategy: 'fastest' as PickStrategy, streamingWindow: 4 })).toThrow(RangeError)
    expect(p.streamingWindow).toBe(0)
    p.configure({ streamingWindow: 3 })
    expect(p.streamingWindow).toBe(3)
    expect(p.strategy).toBe('sequential')
  })

  it('refuses bad input with typed errors', () => {
    expect(() => new PiecePicker({ pieces: -1 })).toThrow(RangeError)
    expect(() => new PiecePicker({ pieces: 10, strategy: 'fastest' as PickStrategy })).toThrow(RangeError)
    expect(() => new PiecePicker({ pieces: 10, streamingWindow: -2 })).toThrow(RangeError)
    const picker = new PiecePicker({ pieces: 10 })
    expect(() => picker.addPeer('a', new Bitfield(11))).toThrow(RangeError)
    expect(() => picker.addPeer('a', [1, 2] as unknown as Bitfield)).toThrow(TypeError)
    expect(() => picker.have('a', 10)).toThrow(RangeError)
    expect(() => picker.availability(-1)).toThrow(RangeError)
    expect(() => picker.setCursor(11)).toThrow(RangeError)
    picker.setCursor(10) // past the end is allowed: no window
    expect(picker.cursor).toBe(10)
    expect(() => picker.pick('a', undefined as unknown as () => boolean)).toThrow(TypeError)
  })

  it('keeps picking at 20 000 pieces and 50 peers: 10 000 picks, nearly every one served (its speed: npm run bench:picker)', () => {
    const random = seeded(1234)
    const pieces = 20_000
    const picker = new PiecePicker({ pieces, streamingWindow: 8, random })
    const peers = range(0, 50).map(p => `peer${p}`)
    for (const [k, p] of peers.entries()) {
      if (k < 5) picker.addPeer(p, 'all')
      else picker.addPeer(p, field(pieces, range(0, pieces).filter(() => random() < (k < 25 ? 0.6 : 0.05))))
    }
    const inFlight = new Set<number>()
    const eligible = (i: number): boolean => !inFlight.has(i)
    let picked = 0
    for (let n = 0; n < 10_000; n++) {
      const peer = peers[Math.floor(random() * peers.length)]
      const i = picker.pick(peer, eligible)
      if (i === undefined) continue
      picked++
      inFlight.add(i)
      if (inFlight.size > 32) { // completions: the oldest request lands
        const done = inFlight.values().next().value!
        inFlight.delete(done)
        picker.weHave(done)
      }
      if (n % 10 === 0) picker.have(peers[5 + (n % 45)], Math.floor(random() * pieces))
    }
    expect(picked).toBeGreaterThan(9000)
  })

  it('says what is wrong in its errors, and checks every index and option', () => {
    expect(() => new PiecePicker({ pieces: -1 })).toThrow('pieces must be an integer ≥ 0, got -1')
    expect(() => new PiecePicker({ pieces: 2.5 })).toThrow('pieces must be an integer ≥ 0, got 2.5')
    expect(() => new PiecePicker({ pieces: 10, strategy: 'fastest' as PickStrategy }))
      .toThrow('strategy must be one of rarest-first, sequential, random, got fastest')
    expect(() => new PiecePicker({ pieces: 10, streamingWindow: -2 })).toThrow('streamingWindow must be an integer ≥ 0, got -2')
    expect(() => new PiecePicker({ pieces: 10, random: 5 as unknown as () => number }))
      .toThrow(new TypeError('random must be a function returning [0, 1)'))
    const picker = new PiecePicker({ pieces: 10 })
    expect(() => picker.configure({ strategy: 'fastest' as PickStrategy }))
      .toThrow('strategy must be one of rarest-first, sequential, random, got fastest')
    expect(() => picker.configure({ streamingWindow: -1 })).toThrow('streamingWindow must be an integer ≥ 0, got -1')
    expect(() => picker.configure({ streamingWindow: 1.5 })).toThrow(RangeError)
    expect(picker.streamingWindow).toBe(0)
    expect(() => picker.addPeer('a', [1] as unknown as Bitfield)).toThrow("has must be a Bitfield or 'all'")
    expect(() => picker.addPeer('a', new Bitfield(11))).toThrow('bitfield of 11 pieces for a content of 10')
    expect(() => picker.pick('a', 1 as unknown as () => boolean)).toThrow('eligible must be a function')
    expect(() => picker.setCursor(-1)).toThrow('cursor -1 out of range [0, 10]')
    expect(() => picker.setCursor(1.5)).toThrow(RangeError)
    picker.setCursor(0)
    expect(picker.cursor).toBe(0)
    picker.addPeer('s', 'all')
    // a seeder's `have` is a no-op, but its index is still checked; so are the lookups'
    expect(() => picker.have('s', 10)).toThrow('piece index 10 out of range [0, 10)')
    expect(() => picker.peerHas('nobody', 10)).toThrow('piece index 10 out of range [0, 10)')
    expect(() => picker.availability(10)).toThrow('piece index 10 out of range [0, 10)')
    for (const i of [10, -1]) {
      expect(() => picker.weHave(i)).toThrow(RangeError)
      expect(() => picker.weDontHave(i)).toThrow(RangeError)
    }
  })

  it('handles an empty content', () => {
    const picker = new PiecePicker({ pieces: 0 })
    picker.addPeer('s', 'all')
    expect(picker.pick('s', any)).toBeUndefined()
  })

  it('isPartial() tells a peer with a partial bitfield from a seeder and a stranger', () => {
    const picker = new PiecePicker({ pieces: 4 })
    picker.addPeer('a', field(4, [1]))
    picker.addPeer('s', 'all')
    expect(picker.isPartial('a')).toBe(true)
    expect(picker.isPartial('s')).toBe(false)
    expect(picker.isPartial('nobody')).toBe(false)
  })

  it('weHave() and weDontHave() are idempotent: repeats lose no piece and favour none', () => {
    for (const strategy of ['rarest-first', 'random'] as PickStrategy[]) {
      // a repeated weHave must not drop another piece
      const picker = new PiecePicker({ pieces: 3, strategy, random: seeded(2) })
      picker.addPeer('s', 'all')
      picker.weHave(0)
      picker.weHave(0)
      const got: number[] = []
      for (let i = picker.pick('s', any); i !== undefined; i = picker.pick('s', any)) {
        got.push(i)
        picker.weHave(i)
      }
      expect(got.sort()).toEqual([1, 2])

      // a repeated weDontHave, or a weHave/weDontHave round trip, must not count a piece twice
      const random = seeded(3)
      const twice = new PiecePicker({ pieces: 4, strategy, random })
      twice.addPeer('s', 'all')
      twice.weDontHave(0)
      twice.weHave(1)
      twice.weDontHave(1)
      const counts = [0, 0, 0, 0]
      for (let t = 0; t < 4000; t++) counts[twice.pick('s', any)!]++
      for (const n of counts) expect(Math.abs(n - 1000)).toBeLessThan(150)
    }
  })

  it('sequential: a lost piece (weDontHave) from the cursor on is picked again in order, one before the cursor is not', () => {
    for (const peer of ['s', 'p']) {
      const picker = new PiecePicker({ pieces: 40, strategy: 'sequential', random: seeded(6) })
      picker.addPeer('s', 'all')
      picker.addPeer('p', field(40, range(0, 39))) // all but the last: not a seeder
      const next = (): number | undefined => picker.pick(peer, any)
      picker.weHave(5)
      picker.weDontHave(5) // lost again while 0 is still the next wanted piece
      expect(next()).toBe(0)
      for (let i = 0; i < 5; i++) picker.weHave(i)
      expect(next()).toBe(5)
      picker.weDontHave(2)
      expect(next()).toBe(2)
      picker.weHave(2)
      picker.setCursor(10)
      picker.weHave(10)
      expect(next()).toBe(11)
      picker.weDontHave(10) // the piece at the cursor
      expect(next()).toBe(10)
      for (const i of [10, 11, 12]) picker.weHave(i)
      picker.weDontHave(3) // before the cursor: only after the pieces from the cursor on
      expect(next()).toBe(13)
      picker.weHave(20)
      picker.weDontHave(20) // after the next wanted piece: does not jump ahead
      expect(next()).toBe(13)
    }
  })

  it('sequential wraps around to the pieces before the cursor once those after it are done', () => {
    for (const peer of ['s', 'p']) {
      const picker = new PiecePicker({ pieces: 10, strategy: 'sequential', random: seeded(8) })
      picker.addPeer('s', 'all')
      picker.addPeer('p', field(10, [1, 2, 3, 7, 8]))
      picker.setCursor(5)
      for (let i = 5; i < 10; i++) picker.weHave(i)
      picker.weHave(0)
      expect(picker.pick(peer, any)).toBe(1)
      expect(picker.pick(peer, i => i === 2)).toBe(2)
      expect(picker.pick(peer, i => i === 0 || i === 4)).toBe(peer === 's' ? 4 : undefined)
      expect(picker.pick(peer, () => false)).toBeUndefined()
    }
    // a peer holding only pieces before the cursor, none eligible: the wrap ends at its last bit
    const picker = new PiecePicker({ pieces: 10, strategy: 'sequential', random: seeded(8) })
    picker.addPeer('r', field(10, [1, 2, 3]))
    picker.setCursor(5)
    expect(picker.pick('r', () => false)).toBeUndefined()
  })

  it('random: a sparse peer\'s pieces are equally likely whatever their availability', () => {
    const pieces = 20_000
    const held = [100, 5000, 12_000, 19_999]
    const picker = new PiecePicker({ pieces, strategy: 'random', random: seeded(10) })
    picker.addPeer('p', field(pieces, held))
    picker.addPeer('q', field(pieces, [5000, 19_999])) // two of them are more common
    const counts = new Map<number, number>()
    for (let t = 0; t < 800; t++) {
      const i = picker.pick('p', any)!
      counts.set(i, (counts.get(i) ?? 0) + 1)
    }
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(held)
    for (const n of counts.values()) expect(n).toBeGreaterThan(120) // 200 expected each
  })

  it('a pick from a large class asks `eligible` about a few pieces, not all of them (the engine\'s check may cost)', () => {
    const pieces = 20_000
    for (const strategy of ['rarest-first', 'random'] as PickStrategy[]) {
      for (const held of ['all', field(pieces, range(0, pieces - 1))] as const) {
        const picker = new PiecePicker({ pieces, strategy, random: seeded(12) })
        picker.addPeer('p', held)
        let asked = 0
        const eligible = (i: number): boolean => { asked++; return i % 2 === 0 }
        for (let t = 0; t < 20; t++) expect(picker.pick('p', eligible)! % 2).toBe(0)
        expect(asked).toBeLessThan(20 * 50)
      }
    }
  })
})

describe('PiecePicker with nothing eligible', () => {
  it('returns undefined after scanning every availability class, for a bitfield peer whose every piece is taken', () => {
    // 9 pieces, 8 held by one peer only (one availability class; a peer holding all 9 would be
    // a seed): the class scan costs less than walking the peer's bits, so rarest-first goes
    // through every class to the end and finds nothing
    for (const strategy of ['rarest-first', 'random', 'sequential'] as const) {
      const picker = new PiecePicker({ pieces: 9, strategy, random: seeded(1) })
      picker.addPeer('p', field(9, [0, 1, 2, 3, 4, 5, 6, 7]))
      expect(picker.pick('p', () => false)).toBeUndefined()
      expect(picker.pick('p', i => i === 5)).toBe(5)
    }
  })
})
