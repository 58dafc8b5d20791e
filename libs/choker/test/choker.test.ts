import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { seeded } from '@codio/testing'
import { Choker } from '../src/choker.js'
import { ChokerRunningError } from '../src/errors.js'
import type { ChokerPeer } from '../src/types.js'


function clock (start = 1_000_000): { now: () => number, advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms } }
}

/** An interested peer connected long ago (on a clock starting at 1 000 000 ms). */
function peer (id: string, over: Partial<ChokerPeer> = {}): ChokerPeer {
  return { id, interested: true, connectedAt: 0, downloadRate: 0, uploadRate: 0, ...over }
}

const sorted = (s: Set<string>): string[] => [...s].sort()

describe('Choker', () => {
  afterEach(() => { jest.useRealTimers() })

  it('while leeching, unchokes the peers that upload to us ahead of those that do not', () => {
    const c = clock()
    const peers = [peer('idle1'), peer('giver', { downloadRate: 100_000 }), peer('idle2'), peer('slow', { downloadRate: 10 }), peer('idle3')]
    for (let seed = 1; seed <= 20; seed++) {
      const choker = new Choker({ regularSlots: 2, optimisticSlots: 0, now: c.now, random: seeded(seed) })
      const d = choker.recompute(peers, false)
      expect(sorted(d.unchoked)).toEqual(['giver', 'slow'])
      expect(choker.isUnchoked('giver')).toBe(true)
      expect(choker.isUnchoked('idle1')).toBe(false)
    }
  })

  it('while seeding, ranks by how fast we upload to the peer', () => {
    const c = clock()
    const peers = [peer('gives', { downloadRate: 1e6, uploadRate: 10 }), peer('takes', { uploadRate: 5e5 }), peer('takes-more', { uploadRate: 9e5 })]
    const choker = new Choker({ regularSlots: 2, optimisticSlots: 0, now: c.now, random: seeded(1) })
    expect(sorted(choker.recompute(peers, true).unchoked)).toEqual(['takes', 'takes-more'])
    expect(sorted(choker.recompute(peers, false).unchoked)).toEqual(['gives', 'takes-more'])
  })

  it('draws every random choice from the injected random: two chokers seeded alike decide alike', () => {
    // 12 equal peers: every regular slot is a rate tie and every optimistic slot a draw
    const peers = Array.from({ length: 12 }, (_, i) => peer(`p${i}`, { downloadRate: 1000 }))
    const runs = [1, 2].map(() => {
      const c = clock()
      const choker = new Choker({ regularSlots: 2, optimisticSlots: 2, now: c.now, random: seeded(7) })
      return Array.from({ length: 20 }, () => {
        const d = choker.recompute(peers, false)
        c.advance(30_000)
        return [...sorted(d.unchoked), '|', ...sorted(d.optimistic)].join(',')
      })
    })
    expect(runs[1]).toEqual(runs[0])
    // and the draws do move: not one fixed choice
    expect(new Set(runs[0]).size).toBeGreaterThan(1)
  })

  it('never unchokes a peer that is not interested', () => {
    const c = clock()
    const random = seeded(3)
    const choker = new Choker({ now: c.now, random })
    for (let round = 0; round < 200; round++) {
      const peers = Array.from({ length: 12 }, (_, i) => peer(`p${i}`, {
        interested: random() < 0.4,
        downloadRate: random() * 1e6,
        uploadRate: random() * 1e6,
        connectedAt: c.now() - random() * 120_000
      }))
      const d = choker.recompute(peers, random() < 0.5)
      const interested = new Set(peers.filter(p => p.interested).map(p => p.id))
      for (const id of d.unchoked) expect(interested.has(id)).toBe(true)
      expect(d.unchoked.size).toBe(Math.min(5, interested.size))
      c.advance(10_000)
    }
    const lazy = Array.from({ length: 8 }, (_, i) => peer(`l${i}`, { interested: false, downloadRate: 1e9 }))
    expect(choker.recompute(lazy, false).unchoked.size).toBe(0)
  })

  it('respects the slot counts, the optimistic slot going outside the regular set', () => {
    const c = clock()
    const peers = Array.from({ length: 20 }, (_, i) => peer(`p${i}`, { downloadRate: i * 1000 }))
    for (let seed = 1; seed <= 30; seed++) {
      const choker = new Choker({ regularSlots: 4, optimisticSlots: 2, now: c.now, random: seeded(seed) })
      const d = choker.recompute(peers, false)
      expect(d.unchoked.size).toBe(6)
      expect(d.optimistic.size).toBe(2)
      const regular = [...d.unchoked].filter(id => !d.optimistic.has(id)).sort()
      expect(regular).toEqual(['p16', 'p17', 'p18', 'p19'])
      for (const id of d.optimistic) expect(regular).not.toContain(id)
    }
    // fewer interested peers than regular slots: all of them, no optimistic left to give
    const few = new Choker({ now: c.now, random: seeded(1) }).recompute(peers.slice(0, 3), false)
    expect(sorted(few.unchoked)).toEqual(['p0', 'p1', 'p2'])
    expect(few.optimistic.size).toBe(0)
  })

  it('breaks rate ties at random', () => {
    const c = clock()
    const choker = new Choker({ regularSlots: 2, optimisticSlots: 0, now: c.now, random: seeded(11) })
    const peers = Array.from({ length: 6 }, (_, i) => peer(`p${i}`))
    const hits = new Map<string, number>()
    for (let i = 0; i < 3000; i++) {
      for (const id of choker.recompute(peers, false).unchoked) hits.set(id, (hits.get(id) ?? 0) + 1)
    }
    for (const p of peers) expect(hits.get(p.id)! / 3000).toBeCloseTo(1 / 3, 1)
  })

  it('rotates the optimistic unchoke after 30 s and not before', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = clock()
      const choker = new Choker({ regularSlots: 2, now: c.now, random: seeded(seed) })
      const peers = Array.from({ length: 8 }, (_, i) => peer(`p${i}`, { downloadRate: i === 7 || i === 6 ? 1e6 : 0 }))
      const first = [...choker.recompute(peers, false).optimistic]
      expect(first).toHaveLength(1)
      for (const t of [10_000, 10_000, 9_999]) {
        c.advance(t)
        const d = choker.recompute(peers, false)
        expect([...d.optimistic]).toEqual(first)
        expect(d.changed).toBe(false)
      }
      c.advance(1)
      const d = choker.recompute(peers, false)
      expect(d.optimistic.size).toBe(1)
      expect(d.optimistic.has(first[0])).toBe(false)
      expect(d.unchoked.has(first[0])).toBe(false)
      expect(d.changed).toBe(true)
    }
  })

  it('refills a vacated optimistic slot at once, without restarting the rotation period', () => {
    const c = clock()
    const choker = new Choker({ regularSlots: 1, now: c.now, random: seeded(5) })
    let peers = Array.from({ length: 5 }, (_, i) => peer(`p${i}`, { downloadRate: i === 0 ? 1e6 : 0 }))
    const [first] = choker.recompute(peers, false).optimistic
    c.advance(10_000)
    peers = peers.filter(p => p.id !== first) // it disconnected
    const d1 = choker.recompute(peers, false)
    expect(d1.optimistic.size).toBe(1)
    const [second] = d1.optimistic
    expect(second).not.toBe(first)
    expect(d1.changed).toBe(true)
    c.advance(10_000)
    expect([...choker.recompute(peers, false).optimistic]).toEqual([second])
    c.advance(10_000) // 30 s since the last draw at t = 0
    expect(choker.recompute(peers, false).optimistic.has(second)).toBe(false)
  })

  it('frees the slot of a peer that disappeared at the next recompute', () => {
    const c = clock()
    const choker = new Choker({ regularSlots: 2, optimisticSlots: 0, now: c.now, random: seeded(2) })
    const peers = [peer('a', { downloadRate: 3 }), peer('b', { downloadRate: 2 }), peer('c', { downloadRate: 1 })]
    expect(sorted(choker.recompute(peers, false).unchoked)).toEqual(['a', 'b'])
    expect(choker.recompute(peers, false).changed).toBe(false)
    const d = choker.recompute(peers.filter(p => p.id !== 'a'), false)
    expect(sorted(d.unchoked)).toEqual(['b', 'c'])
    expect(d.changed).toBe(true)
    expect(choker.isUnchoked('a')).toBe(false)
  })

  it('gives new peers three times the chance of the optimistic slot', () => {
    const c = clock()
    const random = seeded(42)
    const trials = 6000
    const wins = new Map<string, number>()
    const peers = [
      peer('fresh', { connectedAt: c.now() - 5_000 }),
      peer('old1', { connectedAt: c.now() - 600_000 }),
      peer('old2', { connectedAt: c.now() - 90_000 }),
      peer('old3', { connectedAt: c.now() - 61_000 })
    ]
    for (let i = 0; i < trials; i++) {
      const choker = new Choker({ regularSlots: 0, now: c.now, random })
      const [won] = choker.recompute(peers, false).optimistic
      wins.set(won, (wins.get(won) ?? 0) + 1)
    }
    // weights 3 : 1 : 1 : 1 → 1/2 for the new peer (1/4 if uniform), 1/6 for each old one
    expect(wins.get('fresh')! / trials).toBeGreaterThan(0.47)
    expect(wins.get('fresh')! / trials).toBeLessThan(0.53)
    for (const id of ['old1', 'old2', 'old3']) expect(Math.abs(wins.get(id)! / trials - 1 / 6)).toBeLessThan(0.025)

    // newPeerMs is configurable: with 1 s nobody counts as new
    const flat = new Map<string, number>()
    for (let i = 0; i < trials; i++) {
      const [won] = new Choker({ regularSlots: 0, newPeerMs: 1000, now: c.now, random }).recompute(peers, false).optimistic
      flat.set(won, (flat.get(won) ?? 0) + 1)
    }
    expect(Math.abs(flat.get('fresh')! / trials - 1 / 4)).toBeLessThan(0.03)
  })

  it('runs on a timer, reporting only changes, until stopped', async () => {
    jest.useFakeTimers({ now: 0 })
    const choker = new Choker({ regularSlots: 1, optimisticSlots: 0, random: seeded(1) })
    let peers = [peer('a', { downloadRate: 5 }), peer('b', { downloadRate: 1 })]
    const source = jest.fn(() => ({ peers, seeding: false }))
    const changes: string[][] = []
    choker.start(source, d => changes.push(sorted(d.unchoked)))
    expect(source).toHaveBeenCalledTimes(1) // a first decision at once
    expect(changes).toEqual([['a']])
    expect(() => choker.start(source, () => {})).toThrow(ChokerRunningError)

    jest.advanceTimersByTime(10_000)
    expect(source).toHaveBeenCalledTimes(2)
    expect(changes).toHaveLength(1) // same set: no call
    peers = [peer('a', { downloadRate: 1 }), peer('b', { downloadRate: 5 })]
    jest.advanceTimersByTime(9_999)
    expect(changes).toHaveLength(1)
    jest.advanceTimersByTime(1)
    expect(changes).toEqual([['a'], ['b']])

    choker.stop()
    jest.advanceTimersByTime(60_000)
    expect(source).toHaveBeenCalledTimes(3)
    expect(jest.getTimerCount()).toBe(0)
    choker.stop()
  })

  it('carries on after a failing source or onChange, reporting to onError', () => {
    jest.useFakeTimers({ now: 0 })
    const errors: unknown[] = []
    const choker = new Choker({ onError: err => errors.push(err), random: seeded(1) })
    let calls = 0
    choker.start(() => {
      calls++
      if (calls === 2) throw new Error('source broke')
      return { peers: [peer(`p${calls}`)], seeding: false }
    }, () => { if (calls === 3) throw new Error('onChange broke') })
    jest.advanceTimersByTime(30_000)
    expect(calls).toBe(4)
    expect(errors.map(e => (e as Error).message)).toEqual(['source broke', 'onChange broke'])
    expect(choker.isUnchoked('p4')).toBe(true)
    choker.stop()
  })

  it('refuses bad options and bad peers with typed errors', () => {
    expect(() => new Choker({ regularSlots: -1 })).toThrow(RangeError)
    expect(() => new Choker({ optimisticSlots: 1.5 })).toThrow(RangeError)
    expect(() => new Choker({ unchokeIntervalMs: 0 })).toThrow(RangeError)
    const choker = new Choker()
    expect(() => choker.recompute([peer('a'), peer('a')], false)).toThrow(TypeError)
    expect(() => choker.recompute([peer('a', { downloadRate: NaN })], false)).toThrow(RangeError)
    expect(() => choker.recompute([peer('a', { uploadRate: -1 })], true)).toThrow(RangeError)
    expect(new ChokerRunningError().name).toBe('ChokerRunningError')
  })

  it('reconfigures slots and interval while running: recomputes at once, then ticks at the new period', () => {
    jest.useFakeTimers({ now: 0 })
    const choker = new Choker({ regularSlots: 1, optimisticSlots: 0, random: seeded(1) })
    const peers = [peer('a', { downloadRate: 5 }), peer('b', { downloadRate: 3 }), peer('c', { downloadRate: 1 })]
    const source = jest.fn(() => ({ peers, seeding: false }))
    const changes: string[][] = []
    choker.start(source, d => changes.push(sorted(d.unchoked)))
    expect(changes).toEqual([['a']])
    choker.reconfigure({ regularSlots: 2, unchokeIntervalMs: 1000 })
    expect(choker.regularSlots).toBe(2)
    expect(choker.unchokeIntervalMs).toBe(1000)
    expect(changes).toEqual([['a'], ['a', 'b']])
    expect(source).toHaveBeenCalledTimes(2)
    jest.advanceTimersByTime(1000)
    expect(source).toHaveBeenCalledTimes(3)
    // bad values change nothing
    expect(() => choker.reconfigure({ regularSlots: 3, unchokeIntervalMs: -1 })).toThrow(RangeError)
    expect(choker.regularSlots).toBe(2)
    // unchanged values do not recompute
    choker.reconfigure({ regularSlots: 2 })
    expect(source).toHaveBeenCalledTimes(3)
    choker.stop()
    expect(jest.getTimerCount()).toBe(0)
  })

  it('says which option or peer field is wrong, and accepts any finite connectedAt', () => {
    for (const key of ['regularSlots', 'optimisticSlots', 'newPeerMs'] as const) {
      expect(() => new Choker({ [key]: -1 })).toThrow(`${key} must be an integer ≥ 0, got -1`)
    }
    for (const key of ['unchokeIntervalMs', 'optimisticIntervalMs'] as const) {
      expect(() => new Choker({ [key]: 0 })).toThrow(`${key} must be a finite number > 0 (ms), got 0`)
      expect(() => new Choker({ [key]: Infinity })).toThrow(`${key} must be a finite number > 0 (ms), got Infinity`)
      expect(() => new Choker({ [key]: NaN })).toThrow(RangeError)
    }
    const choker = new Choker({ random: seeded(1) })
    for (const key of ['regularSlots', 'optimisticSlots'] as const) {
      expect(() => choker.reconfigure({ [key]: 1.5 })).toThrow(`${key} must be an integer ≥ 0, got 1.5`)
    }
    for (const key of ['unchokeIntervalMs', 'optimisticIntervalMs'] as const) {
      expect(() => choker.reconfigure({ [key]: -5 })).toThrow(`${key} must be a finite number > 0 (ms), got -5`)
    }
    expect(() => choker.recompute([peer('a'), peer('a')], false)).toThrow(new TypeError('peer a listed twice'))
    expect(() => choker.recompute([null as unknown as ChokerPeer], false)).toThrow(new TypeError('every peer needs a string id'))
    expect(() => choker.recompute([{ ...peer('a'), id: 5 as unknown as string }], false)).toThrow(new TypeError('every peer needs a string id'))
    expect(() => choker.recompute([peer('a', { downloadRate: NaN })], false)).toThrow('peer a: downloadRate must be a finite number ≥ 0, got NaN')
    expect(() => choker.recompute([peer('a', { connectedAt: Infinity })], false)).toThrow('peer a: connectedAt must be a finite number, got Infinity')
    expect(choker.recompute([peer('a', { connectedAt: -5000 })], false).unchoked.has('a')).toBe(true)
  })

  it('while seeding, ranks by upload rate whatever the tie-break draws', () => {
    const c = clock()
    const peers = [peer('gives', { downloadRate: 1e6, uploadRate: 10 }), peer('takes', { uploadRate: 5e5 }), peer('takes-more', { uploadRate: 9e5 })]
    for (let seed = 1; seed <= 20; seed++) {
      const choker = new Choker({ regularSlots: 2, optimisticSlots: 0, now: c.now, random: seeded(seed) })
      expect(sorted(choker.recompute(peers, true).unchoked)).toEqual(['takes', 'takes-more'])
    }
  })

  it('with no regular slots unchokes only the optimistic peer', () => {
    const choker = new Choker({ regularSlots: 0, optimisticSlots: 1, now: clock().now, random: seeded(2) })
    const d = choker.recompute([peer('a'), peer('b', { downloadRate: 1e6 })], false)
    expect(d.unchoked.size).toBe(1)
    expect([...d.unchoked]).toEqual([...d.optimistic])
  })

  it('reports a change when a peer only leaves the unchoked set, and keeps the decision', () => {
    const c = clock()
    const choker = new Choker({ regularSlots: 2, optimisticSlots: 0, now: c.now, random: seeded(3) })
    choker.recompute([peer('a', { downloadRate: 2 }), peer('b', { downloadRate: 1 })], false)
    const d = choker.recompute([peer('a', { downloadRate: 2 })], false)
    expect(sorted(d.unchoked)).toEqual(['a'])
    expect(d.changed).toBe(true)
    const kept = choker.decision
    expect(sorted(kept.unchoked)).toEqual(['a'])
    expect(kept.optimistic.size).toBe(0)
    kept.unchoked.add('x') // a copy
    expect(choker.isUnchoked('x')).toBe(false)
  })

  it('a peer connected exactly newPeerMs ago is no longer new', () => {
    const c = clock()
    const random = seeded(4)
    const peers = [peer('edge', { connectedAt: c.now() - 60_000 }), peer('old', { connectedAt: c.now() - 600_000 })]
    let edge = 0
    const trials = 2000
    for (let i = 0; i < trials; i++) {
      if (new Choker({ regularSlots: 0, now: c.now, random }).recompute(peers, false).optimistic.has('edge')) edge++
    }
    expect(Math.abs(edge / trials - 1 / 2)).toBeLessThan(0.05) // weights 1 : 1, not 3 : 1
  })

  it('fills every optimistic slot with distinct peers on a redraw and on a refill', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = clock()
      const choker = new Choker({ regularSlots: 0, optimisticSlots: 2, now: c.now, random: seeded(seed) })
      // a redraw with one other peer: it and one of the current two
      const three = ['x', 'y', 'z'].map(id => peer(id))
      const first = choker.recompute(three, false).optimistic
      expect(first.size).toBe(2)
      c.advance(30_000)
      const second = choker.recompute(three, false).optimistic
      expect(second.size).toBe(2)
      const [other] = three.map(p => p.id).filter(id => !first.has(id))
      expect(second.has(other)).toBe(true)
      // one of the two leaves: its slot goes to one of the others, the period goes on
      c.advance(10_000)
      const [gone, stays] = [...second]
      const rest = [...three, peer('w'), peer('v')].filter(p => p.id !== gone)
      const refilled = choker.recompute(rest, false).optimistic
      expect(refilled.size).toBe(2)
      expect(refilled.has(stays)).toBe(true)
    }
  })

  it('reconfigure() recomputes when any one of its fields changes', async () => {
    jest.useFakeTimers({ now: 0 })
    const changes: Array<Partial<Record<'regularSlots' | 'optimisticSlots' | 'unchokeIntervalMs' | 'optimisticIntervalMs', number>>> =
      [{ regularSlots: 3 }, { optimisticSlots: 2 }, { unchokeIntervalMs: 2000 }, { optimisticIntervalMs: 5000 }]
    for (const change of changes) {
      const choker = new Choker({ random: seeded(5) })
      const source = jest.fn(() => ({ peers: [peer('a')], seeding: false }))
      choker.start(source, () => {})
      choker.reconfigure(change)
      expect(source).toHaveBeenCalledTimes(2)
      choker.stop()
    }
  })

  it('its timer does not keep the process alive, before or after a reconfigure', () => {
    const timers = (): number => process.getActiveResourcesInfo().filter(r => r === 'Timeout').length
    const before = timers()
    const choker = new Choker({ random: seeded(6) })
    choker.start(() => ({ peers: [], seeding: false }), () => {})
    expect(timers()).toBe(before)
    choker.reconfigure({ unchokeIntervalMs: 1000 })
    expect(timers()).toBe(before)
    choker.stop()
  })

  it('by default reports a failing source as a process warning', () => {
    // jest's sandbox does not pass the real process's 'warning' events on: watch the call (it still warns)
    const emitted = jest.spyOn(process, 'emitWarning')
    try {
      // (an Error thrown here belongs to jest's module realm, which process.emitWarning refuses: a string)
      const choker = new Choker({ random: seeded(7) })
      choker.start(() => { throw 'source broke' }, () => {})
      choker.stop()
      expect(emitted.mock.calls).toEqual([['source broke']])
    } finally {
      emitted.mockRestore()
    }
  })
})
