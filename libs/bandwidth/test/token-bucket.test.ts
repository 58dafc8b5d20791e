import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { TokenBucket } from '../src/token-bucket.js'

const KiB = 1024
const MiB = 1024 * 1024

/** Fake timers drive both the bucket's setTimeout and its clock (`Date.now()` is faked too). */
const now = (): number => Date.now()

beforeEach(() => { jest.useFakeTimers({ now: 0 }) })
afterEach(() => { jest.useRealTimers() })

/** Start `take(n)` and note the fake time it resolved at (or the error it rejected with). */
function timed (bucket: TokenBucket, n: number, signal?: AbortSignal): { at?: number, error?: unknown, settled: Promise<void> } {
  const out: { at?: number, error?: unknown, settled: Promise<void> } = { settled: Promise.resolve() }
  out.settled = bucket.take(n, signal).then(() => { out.at = Date.now() }, (err) => { out.error = err })
  return out
}

describe('TokenBucket', () => {
  it('passes everything at once when unlimited (rate 0 or Infinity)', async () => {
    for (const rate of [0, Infinity]) {
      const bucket = new TokenBucket({ rate, now })
      expect(bucket.rate).toBe(Infinity)
      const t = timed(bucket, 100 * MiB)
      await Promise.resolve(); await Promise.resolve()
      expect(t.at).toBe(0)
      expect(bucket.tryTake(1e12)).toBe(true)
      expect(jest.getTimerCount()).toBe(0)
    }
  })

  it('enforces the rate: 10 × 1 MiB at 5 MiB/s is done after ~2 s of fake time', async () => {
    const bucket = new TokenBucket({ rate: 5 * MiB, now })
    expect(bucket.burst).toBe(512 * KiB) // max(rate / 10, 256 KiB)
    const takes = Array.from({ length: 10 }, () => timed(bucket, MiB))
    await jest.runAllTimersAsync()
    // the k-th MiB is granted once 512 KiB + 5 MiB/s · t − (k − 1) MiB ≥ 512 KiB
    takes.forEach((t, k) => expect(t.at).toBeCloseTo(k * 200, -1))
    // and the debt of the last one is paid at (10 MiB − 512 KiB) / 5 MiB/s = 1.9 s
    const next = timed(bucket, 1)
    await jest.runAllTimersAsync()
    expect(next.at).toBeGreaterThanOrEqual(1900)
    expect(next.at).toBeLessThanOrEqual(1902)
  })

  it('never lets more than burst + rate·t (+ one request) through, and sustains the rate', async () => {
    const rate = 3 * MiB
    const bucket = new TokenBucket({ rate, now })
    let seed = 7
    const sizes = Array.from({ length: 200 }, () => { seed = (seed * 48271) % 2147483647; return 16 * KiB + (seed % (2 * MiB)) })
    const takes = sizes.map(n => timed(bucket, n))
    await jest.runAllTimersAsync()
    let sent = 0
    takes.forEach((t, i) => {
      expect(t.at).toBeDefined()
      expect(sent).toBeLessThanOrEqual(2 * bucket.burst + rate * t.at! / 1000 + 1)
      sent += sizes[i]
    })
    const total = sizes.reduce((a, b) => a + b, 0)
    const last = takes[takes.length - 1].at!
    // the last grant comes when all but the burst (less its own size, up to the burst) is paid
    expect(last).toBeGreaterThanOrEqual((total - sizes[sizes.length - 1] - bucket.burst) / rate * 1000 - 1)
    expect(last).toBeLessThanOrEqual((total - sizes[sizes.length - 1]) / rate * 1000 + 2)
  })

  it('holds at most one burst after an idle spell', async () => {
    const bucket = new TokenBucket({ rate: MiB, burst: MiB, now })
    expect(bucket.tryTake(MiB)).toBe(true)
    expect(bucket.tryTake(1)).toBe(false)
    jest.advanceTimersByTime(500)
    expect(bucket.tryTake(512 * KiB)).toBe(true)
    expect(bucket.tryTake(1)).toBe(false)
    jest.advanceTimersByTime(60_000)
    expect(bucket.available).toBe(MiB)
    expect(bucket.tryTake(MiB)).toBe(true)
    expect(bucket.tryTake(1)).toBe(false)
  })

  it('grants a request bigger than the burst once the bucket is full, and makes the next wait for the debt', async () => {
    const bucket = new TokenBucket({ rate: MiB, now }) // burst 256 KiB
    expect(bucket.burst).toBe(256 * KiB)
    const big = timed(bucket, 8 * MiB)
    await jest.advanceTimersByTimeAsync(0)
    expect(big.at).toBe(0)
    expect(bucket.available).toBe(256 * KiB - 8 * MiB)
    const next = timed(bucket, 1)
    await jest.advanceTimersByTimeAsync(7700)
    expect(next.at).toBeUndefined()
    await jest.advanceTimersByTimeAsync(100)
    expect(next.at).toBe(7751) // (8 MiB − 256 KiB + 1 B) / 1 MiB/s, rounded up to the ms

    // a big request on a half-empty bucket waits only until the bucket is full again
    expect(bucket.tryTake(bucket.available)).toBe(true)
    const emptiedAt = Date.now()
    const big2 = timed(bucket, 4 * MiB)
    await jest.runAllTimersAsync()
    expect(big2.at).toBe(emptiedAt + 250)
  })

  it('serves waiters in arrival order; tryTake does not overtake them', async () => {
    const bucket = new TokenBucket({ rate: MiB, now })
    expect(bucket.tryTake(bucket.burst)).toBe(true)
    const order: string[] = []
    const a = bucket.take(512 * KiB).then(() => order.push('a'))
    const b = bucket.take(1).then(() => order.push('b'))
    const c = bucket.take(100 * KiB).then(() => order.push('c'))
    expect(bucket.waiting).toBe(3)
    jest.advanceTimersByTime(400)
    expect(bucket.tryTake(1)).toBe(false) // tokens are there for b, but a is first in line
    await jest.runAllTimersAsync()
    await Promise.all([a, b, c])
    expect(order).toEqual(['a', 'b', 'c'])
  })

  it('arms a single timer however many wait (no busy loop)', async () => {
    const bucket = new TokenBucket({ rate: 100 * KiB, now })
    bucket.tryTake(bucket.burst)
    const takes = Array.from({ length: 50 }, () => timed(bucket, 10 * KiB))
    expect(jest.getTimerCount()).toBe(1)
    await jest.advanceTimersByTimeAsync(1000)
    expect(takes.filter(t => t.at !== undefined)).toHaveLength(10)
    expect(jest.getTimerCount()).toBe(1)
    await jest.runAllTimersAsync()
    expect(jest.getTimerCount()).toBe(0)
    expect(takes[49].at).toBe(5000)
  })

  it('rejects an aborted take with the signal reason and gives its place to the next', async () => {
    const bucket = new TokenBucket({ rate: MiB, now })
    bucket.tryTake(bucket.burst)
    const ac = new AbortController()
    const reason = new Error('peer went away')
    const a = timed(bucket, 4 * MiB, ac.signal)
    const b = timed(bucket, 1024)
    await jest.advanceTimersByTimeAsync(10)
    ac.abort(reason)
    await a.settled
    expect(a.error).toBe(reason)
    await b.settled
    expect(b.at).toBe(10) // at once: 10 KiB accrued by then, b needed 1 KiB
    expect(bucket.waiting).toBe(0)
    expect(jest.getTimerCount()).toBe(0)
    expect(bucket.available).toBeCloseTo(10 * MiB / 1000 - 1024, 0)

    const already = new AbortController()
    already.abort('gone')
    const c = timed(bucket, 1, already.signal)
    await c.settled
    expect(c.error).toBe('gone')
    expect(bucket.waiting).toBe(0)
  })

  it('re-times waiters on setRate, releases them when going unlimited, recomputes the default burst', async () => {
    const bucket = new TokenBucket({ rate: 10 * KiB, now })
    bucket.tryTake(bucket.burst)
    const a = timed(bucket, 100 * KiB) // 10 s at 10 KiB/s
    await jest.advanceTimersByTimeAsync(1000) // 10 KiB accrued
    bucket.setRate(90 * KiB) // the other 90 KiB now take 1 s
    expect(bucket.burst).toBe(256 * KiB)
    await jest.advanceTimersByTimeAsync(999)
    expect(a.at).toBeUndefined()
    await jest.advanceTimersByTimeAsync(1)
    expect(a.at).toBe(2000)

    const b = timed(bucket, 10 * MiB)
    const c = timed(bucket, 10 * MiB)
    await jest.advanceTimersByTimeAsync(5)
    expect(b.at).toBeUndefined()
    bucket.setRate(0)
    await Promise.all([b.settled, c.settled])
    expect([b.at, c.at]).toEqual([2005, 2005])
    expect(jest.getTimerCount()).toBe(0)

    bucket.setRate(20 * MiB) // back to limited: starts full, burst 2 MiB
    expect(bucket.burst).toBe(2 * MiB)
    expect(bucket.tryTake(2 * MiB)).toBe(true)
    expect(bucket.tryTake(1)).toBe(false)
  })

  it('keeps an explicit burst across rate changes', () => {
    const bucket = new TokenBucket({ rate: MiB, burst: 64 * KiB, now })
    bucket.setRate(100 * MiB)
    expect(bucket.burst).toBe(64 * KiB)
  })

  it('refuses bad input with typed errors', async () => {
    expect(() => new TokenBucket({ rate: -1 })).toThrow(RangeError)
    expect(() => new TokenBucket({ rate: NaN })).toThrow(RangeError)
    expect(() => new TokenBucket({ rate: '5' as unknown as number })).toThrow(TypeError)
    expect(() => new TokenBucket({ rate: 1, burst: 0 })).toThrow(RangeError)
    const bucket = new TokenBucket({ rate: MiB, now })
    expect(() => bucket.tryTake(-1)).toThrow(RangeError)
    expect(() => bucket.tryTake(Infinity)).toThrow(RangeError)
    expect(() => bucket.setRate(-5)).toThrow(RangeError)
    await expect(bucket.take(NaN)).rejects.toThrow(RangeError)
    expect(bucket.waiting).toBe(0)
  })
})
