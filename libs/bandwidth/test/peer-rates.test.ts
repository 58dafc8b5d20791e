import { describe, expect, it } from '@jest/globals'
import { PeerRates } from '../src/peer-rates.js'

/** A hand-driven clock (ms). */
function clock (start = 0): { now: () => number, advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms } }
}

describe('PeerRates', () => {
  it('keeps up and down rates and totals per peer', () => {
    const c = clock()
    const rates = new PeerRates({ now: c.now })
    for (let i = 0; i < 20; i++) {
      rates.recordUp('a', 2000)
      rates.recordDown('a', 500)
      rates.recordDown('b', 4000)
      c.advance(1000)
    }
    expect(rates.up('a')).toBeCloseTo(2000, -1)
    expect(rates.down('a')).toBeCloseTo(500, -1)
    expect(rates.up('b')).toBe(0)
    expect(rates.down('b')).toBeCloseTo(4000, -1)
    expect(rates.up('nobody')).toBe(0)
    const snap = rates.snapshot()
    expect(snap.map(s => s.peer)).toEqual(['a', 'b'])
    expect(snap[0]).toMatchObject({ upBytes: 40_000, downBytes: 10_000 })
    expect(snap[1]).toMatchObject({ upBytes: 0, upRate: 0, downBytes: 80_000 })
    expect(rates.remove('a')).toBe(true)
    expect(rates.remove('a')).toBe(false)
    expect(rates.has('a')).toBe(false)
    expect(rates.down('a')).toBe(0)
    expect(rates.snapshot().map(s => s.peer)).toEqual(['b'])
  })

  it('refuses a bad byte count or window', () => {
    const rates = new PeerRates()
    expect(() => rates.recordUp('a', -5)).toThrow(RangeError)
    expect(() => new PeerRates({ windowMs: -1 })).toThrow(RangeError)
  })
})
