import { describe, expect, it } from '@jest/globals'
import { RateMeter } from '../src/rate-meter.js'

const MiB = 1024 * 1024

/** A hand-driven clock (ms). */
function clock (start = 0): { now: () => number, advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms } }
}

describe('RateMeter', () => {
  it('measures a steady rate', () => {
    const c = clock(1_000_000)
    const meter = new RateMeter({ now: c.now })
    for (let i = 0; i < 600; i++) { meter.record(MiB / 10); c.advance(100) } // 1 MiB/s for 60 s
    expect(meter.rate() / MiB).toBeCloseTo(1, 1)
    expect(meter.total).toBeCloseTo(60 * MiB, 3)
  })

  it('forgets traffic older than the window', () => {
    const c = clock()
    const meter = new RateMeter({ now: c.now })
    for (let i = 0; i < 30; i++) { meter.record(MiB); c.advance(1000) }
    expect(meter.rate() / MiB).toBeCloseTo(1, 1)
    c.advance(10_000) // half the 20 s window silent
    expect(meter.rate() / MiB).toBeGreaterThan(0.4)
    expect(meter.rate() / MiB).toBeLessThan(0.6)
    c.advance(10_000)
    expect(meter.rate()).toBe(0)
    expect(meter.total).toBe(30 * MiB)
  })

  it('honours a custom window', () => {
    const c = clock()
    const meter = new RateMeter({ windowMs: 5_000, now: c.now })
    for (let i = 0; i < 10; i++) { meter.record(1000); c.advance(1000) }
    expect(meter.rate()).toBeGreaterThan(900)
    c.advance(5_000)
    expect(meter.rate()).toBe(0)
  })

  it('divides a young meter by its age, at least one bucket', () => {
    const c = clock(500)
    const meter = new RateMeter({ now: c.now })
    meter.record(1000)
    expect(meter.rate()).toBe(1000) // not 1000 bytes in 0 ms
    c.advance(1500)
    meter.record(1000)
    c.advance(2000)
    expect(meter.rate()).toBeCloseTo(2000 / 3.5, 6)
  })

  it('refuses bad input', () => {
    const meter = new RateMeter()
    expect(() => meter.record(-1)).toThrow(RangeError)
    expect(() => meter.record(NaN)).toThrow(RangeError)
    expect(() => meter.record('1' as unknown as number)).toThrow(TypeError)
    expect(() => new RateMeter({ windowMs: 0 })).toThrow(RangeError)
    expect(() => new RateMeter({ windowMs: 500, bucketMs: 1000 })).toThrow(RangeError)
  })
})
