import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { FairQueue } from '../src/fair-queue.js'
import { TokenBucket } from '../src/token-bucket.js'

const KiB = 1024
const MiB = 1024 * 1024
const now = (): number => Date.now()

beforeEach(() => { jest.useFakeTimers({ now: 0 }) })
afterEach(() => { jest.useRealTimers() })

/** Start `take` and record the order and fake time of its grant. */
function taker (q: FairQueue, order: string[]) {
  return (flow: string, n: number, label: string, signal?: AbortSignal): { at?: number, error?: unknown, settled: Promise<void> } => {
    const out: { at?: number, error?: unknown, settled: Promise<void> } = { settled: Promise.resolve() }
    out.settled = q.take(flow, n, signal).then(() => { out.at = Date.now(); order.push(label) }, (err) => { out.error = err })
    return out
  }
}

describe('FairQueue', () => {
  it('passes everything at once when the bucket is unlimited', async () => {
    const q = new FairQueue(new TokenBucket({ rate: 0, now }))
    const order: string[] = []
    const take = taker(q, order)
    const all = [take('a', 100 * MiB, 'a1'), take('a', 100 * MiB, 'a2'), take('b', MiB, 'b1')]
    await Promise.all(all.map(t => t.settled))
    expect(all.map(t => t.at)).toEqual([0, 0, 0])
    expect(jest.getTimerCount()).toBe(0)
  })

  it('interleaves backlogged flows instead of serving them in arrival order', async () => {
    // burst 256 KiB: the first MiB passes at once (and leaves a debt), every other one waits
    const q = new FairQueue(new TokenBucket({ rate: 4 * MiB, burst: 256 * KiB, now }))
    const order: string[] = []
    const take = taker(q, order)
    const takes = [
      ...['a1', 'a2', 'a3', 'a4'].map(l => take('a', MiB, l)),
      ...['b1', 'b2', 'b3', 'b4'].map(l => take('b', MiB, l)),
      ...['c1', 'c2'].map(l => take('c', MiB, l))
    ]
    await jest.runAllTimersAsync()
    await Promise.all(takes.map(t => t.settled))
    // a1 took the bucket at once; then a FIFO would give a2 a3 a4 b1 …
    expect(order).toEqual(['a1', 'a2', 'b1', 'c1', 'a3', 'b2', 'c2', 'a4', 'b3', 'b4'])
    // the bucket still sets the pace: 10 MiB at 4 MiB/s, the last granted once 9 MiB are paid
    const last = Math.max(...takes.map(t => t.at!))
    expect(last).toBeGreaterThanOrEqual(2240)
    expect(last).toBeLessThanOrEqual(2260)
  })

  it('lets a small transfer overtake bulk ones queued before it', async () => {
    const q = new FairQueue(new TokenBucket({ rate: 8 * MiB, burst: 256 * KiB, now }))
    const order: string[] = []
    const take = taker(q, order)
    const bulk = Array.from({ length: 16 }, (_, i) => take(`p${i % 4}`, MiB, `chunk${i}`))
    const manifest = take('newcomer', 5 * KiB, 'manifest')
    await jest.runAllTimersAsync()
    await Promise.all([...bulk, manifest].map(t => t.settled))
    // chunk0 passed at once and chunk1 already waits at the bucket; the manifest goes right
    // after them (at ~220 ms of 8 MiB/s), not after 16 MiB (2 s)
    expect(order.indexOf('manifest')).toBe(2)
    expect(manifest.at).toBeLessThan(250)
  })

  it('gives up a turn when its signal aborts, and the others go on', async () => {
    const q = new FairQueue(new TokenBucket({ rate: 4 * MiB, burst: 256 * KiB, now }))
    const order: string[] = []
    const take = taker(q, order)
    const ac = new AbortController()
    const a1 = take('a', MiB, 'a1')
    const b1 = take('b', MiB, 'b1', ac.signal)
    const c1 = take('c', MiB, 'c1')
    ac.abort(new Error('peer went away'))
    await jest.runAllTimersAsync()
    await Promise.all([a1, b1, c1].map(t => t.settled))
    expect((b1.error as Error).message).toBe('peer went away')
    expect(order).toEqual(['a1', 'c1'])
    expect(q.waiting).toBe(0)
  })

  it('rejects a bad byte count', async () => {
    const q = new FairQueue(new TokenBucket({ rate: MiB, now }))
    await expect(q.take('a', -1)).rejects.toThrow(RangeError)
  })

  it('serves a flow that arrives late from the current virtual time on, not behind the whole backlog', async () => {
    const q = new FairQueue(new TokenBucket({ rate: 4 * MiB, burst: 256 * KiB, now }))
    const order: string[] = []
    const take = taker(q, order)
    const a = Array.from({ length: 6 }, (_, i) => take('a', MiB, `a${i + 1}`))
    // b arrives once a1–a4 are granted (0, 250, 500, 750 ms): its tags start at the virtual
    // time then, so it interleaves with what is left of a's backlog (a FIFO: a5 a6 b1 b2 b3)
    await jest.advanceTimersByTimeAsync(800)
    const b = Array.from({ length: 3 }, (_, i) => take('b', MiB, `b${i + 1}`))
    await jest.runAllTimersAsync()
    await Promise.all([...a, ...b].map(t => t.settled))
    expect(order).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'b1', 'a6', 'b2', 'b3'])
  })
})
