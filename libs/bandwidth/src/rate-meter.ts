import { DEFAULT_RATE_BUCKET_MS, DEFAULT_RATE_WINDOW_MS } from './constants.js'
import { assertByteCount, assertPositive, monotonicNow } from './validate.js'

export interface RateMeterInit {
  /** Averaging window (ms). Default 20 000, BitTorrent mainline's `max_rate_period`. */
  windowMs?: number
  /** Bucket width (ms); the window holds `ceil(windowMs / bucketMs)` buckets. Default 1 000. */
  bucketMs?: number
  /** Monotonic clock in ms. Default `performance.now()`. */
  now?: () => number
}

/**
 * A rolling transfer rate: bytes recorded into a ring of fixed-width time buckets (1 s by
 * default) covering the last `windowMs`, so memory is constant (`windowMs / bucketMs`
 * numbers) whatever the traffic. Like mainline's `RateMeasure`, a young meter divides by its
 * age rather than the full window, so a new peer's rate is not understated; the divisor is at
 * least one bucket so a single early read does not spike.
 */
export class RateMeter {
  readonly windowMs: number
  readonly bucketMs: number
  private readonly now: () => number
  private readonly buckets: Float64Array
  /** absolute number (`floor(t / bucketMs)`) of the newest bucket */
  private newest: number
  private readonly createdAt: number
  private _total = 0

  /** @throws TypeError / RangeError unless `windowMs` ≥ `bucketMs` > 0 */
  constructor (init: RateMeterInit = {}) {
    this.windowMs = init.windowMs ?? DEFAULT_RATE_WINDOW_MS
    this.bucketMs = init.bucketMs ?? DEFAULT_RATE_BUCKET_MS
    assertPositive(this.windowMs, 'windowMs')
    assertPositive(this.bucketMs, 'bucketMs')
    if (this.bucketMs > this.windowMs) throw new RangeError(`bucketMs (${this.bucketMs}) must not exceed windowMs (${this.windowMs})`)
    this.now = init.now ?? monotonicNow
    this.buckets = new Float64Array(Math.ceil(this.windowMs / this.bucketMs))
    this.createdAt = this.now()
    this.newest = Math.floor(this.createdAt / this.bucketMs)
  }

  /** Bytes recorded since the meter was made. */
  get total (): number {
    return this._total
  }

  /**
   * Count `bytes` as transferred now.
   *
   * @throws TypeError / RangeError unless `bytes` is a finite number ≥ 0
   */
  record (bytes: number): void {
    assertByteCount(bytes, 'bytes')
    this.advance(this.now())
    this.buckets[this.slot(this.newest)] += bytes
    this._total += bytes
  }

  /** Bytes per second over the window ending now. */
  rate (): number {
    const t = this.now()
    this.advance(t)
    let sum = 0
    for (let i = 0; i < this.buckets.length; i++) sum += this.buckets[i]
    if (sum === 0) return 0
    const oldestStart = (this.newest - this.buckets.length + 1) * this.bucketMs
    const span = Math.max(t - Math.max(oldestStart, this.createdAt), this.bucketMs)
    return sum * 1000 / span
  }

  /** Move the ring forward to the bucket holding time `t`, zeroing the buckets it passes. */
  private advance (t: number): void {
    const current = Math.floor(t / this.bucketMs)
    if (current <= this.newest) return
    if (current - this.newest >= this.buckets.length) {
      this.buckets.fill(0)
    } else {
      for (let b = this.newest + 1; b <= current; b++) this.buckets[this.slot(b)] = 0
    }
    this.newest = current
  }

  private slot (bucket: number): number {
    const n = this.buckets.length
    return ((bucket % n) + n) % n
  }
}
