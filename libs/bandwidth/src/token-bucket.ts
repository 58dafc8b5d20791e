import { DEFAULT_BURST_MS, MIN_DEFAULT_BURST_BYTES } from './constants.js'
import { assertByteCount, assertPositive, monotonicNow } from './validate.js'

export interface TokenBucketInit {
  /** Bytes per second. `0` or `Infinity` means unlimited. */
  rate: number
  /**
   * Bucket capacity (bytes): how much may pass at once after an idle spell. Default
   * `max(rate × DEFAULT_BURST_MS, MIN_DEFAULT_BURST_BYTES)` = `max(rate / 10, 256 KiB)`,
   * recomputed by {@link TokenBucket.setRate}; an explicit burst is kept across rate changes.
   */
  burst?: number
  /** Monotonic clock in ms. Default `performance.now()`. */
  now?: () => number
}

interface Waiter {
  n: number
  resolve: () => void
  reject: (reason: unknown) => void
  signal?: AbortSignal
  onAbort?: () => void
}

/** Rounding slack (bytes) so float refill arithmetic never leaves a waiter a hair short. */
const EPSILON = 1e-6

/**
 * A single-rate token bucket (the committed-rate half of RFC 2697 / RFC 4115's meters) that
 * paces byte transfers: tokens accrue at `rate` bytes/s up to `burst`; a transfer of n bytes
 * takes n tokens.
 *
 * A request is granted once the bucket holds `min(n, burst)` tokens, and then takes all n, so
 * the balance may go negative: a chunk bigger than the burst (1–8 MiB) is never stuck, and the
 * debt delays whoever comes next. The bucket starts full. Tokens that accrue while callers wait
 * are theirs even past the burst, so a timer firing late costs no throughput; the catch-up
 * after an event-loop stall is capped at one extra burst. Over any interval T at most
 * `2·burst + rate·T` bytes (plus one request) pass, and `burst + rate·T` when nobody waits.
 *
 * Waiters are served strictly in arrival order ({@link tryTake} does not overtake them), with
 * one timer armed for the head waiter only, for the exact time its tokens accrue. The timer is
 * unref'd: the transfer it paces keeps the process alive through its own socket, and a waiter
 * left behind by a stopped node (seen: a test process held for minutes after its last test)
 * must not.
 *
 * @example
 * ```ts
 * const up = new TokenBucket({ rate: 5 * 1024 * 1024 })   // 5 MiB/s
 * await up.take(chunk.byteLength, signal)
 * stream.write(chunk)
 * ```
 */
export class TokenBucket {
  private _rate: number
  private _burst: number
  private readonly explicitBurst: boolean
  private readonly now: () => number
  private tokens: number
  private lastRefill: number
  private readonly queue: Waiter[] = []
  private timer: NodeJS.Timeout | undefined

  /** @throws TypeError / RangeError if `rate` or `burst` is not a number ≥ 0 (burst > 0) */
  constructor (init: TokenBucketInit) {
    this._rate = normalizeRate(init.rate)
    if (init.burst !== undefined) assertPositive(init.burst, 'burst')
    this.explicitBurst = init.burst !== undefined
    this._burst = init.burst ?? defaultBurst(this._rate)
    this.now = init.now ?? monotonicNow
    this.tokens = this._burst
    this.lastRefill = this.now()
  }

  /** Bytes per second; `Infinity` when unlimited (a rate of 0 reads back as `Infinity`). */
  get rate (): number {
    return this._rate
  }

  /** Bucket capacity in bytes. */
  get burst (): number {
    return this._burst
  }

  /** Tokens in the bucket now (bytes; negative while a large grant is being paid off). */
  get available (): number {
    if (this._rate === Infinity) return Infinity
    this.refill()
    return this.tokens
  }

  /** Number of `take` calls waiting. */
  get waiting (): number {
    return this.queue.length
  }

  /**
   * Change the rate (bytes/s; `0` or `Infinity` = unlimited) from now on: tokens accrued so
   * far count at the old rate. Waiters are re-timed; going unlimited releases them all.
   *
   * @throws TypeError / RangeError if `rate` is not a number ≥ 0
   */
  setRate (rate: number): void {
    const next = normalizeRate(rate)
    if (this._rate !== Infinity) this.refill()
    const wasUnlimited = this._rate === Infinity
    this._rate = next
    if (!this.explicitBurst) this._burst = defaultBurst(next)
    this.lastRefill = this.now()
    if (wasUnlimited) this.tokens = this._burst
    this.tokens = Math.min(this.tokens, this._burst)
    this.drain()
  }

  /**
   * Take `n` bytes' worth of tokens now if the bucket allows it and nobody is waiting.
   *
   * @returns whether the tokens were taken
   * @throws TypeError / RangeError if `n` is not a finite number ≥ 0
   */
  tryTake (n: number): boolean {
    assertByteCount(n, 'n')
    if (this._rate === Infinity || n === 0) return true
    if (this.queue.length > 0) return false
    this.refill()
    if (!this.canGrant(n)) return false
    this.tokens -= n
    return true
  }

  /**
   * Wait until `n` bytes may pass, then take them. Resolves at once when unlimited or when
   * the bucket allows it and nobody is waiting; otherwise queues behind earlier callers.
   *
   * @param n - bytes; may exceed the burst (see the class notes)
   * @param signal - aborting it rejects with `signal.reason` and gives up the place in line
   * @throws (rejects) TypeError / RangeError for a bad `n`; the signal's reason when aborted
   */
  async take (n: number, signal?: AbortSignal): Promise<void> {
    assertByteCount(n, 'n')
    if (signal?.aborted === true) throw signal.reason
    if (this.tryTake(n)) return
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { n, resolve, reject, signal }
      if (signal != null) {
        waiter.onAbort = () => this.cancel(waiter)
        signal.addEventListener('abort', waiter.onAbort, { once: true })
      }
      this.queue.push(waiter)
      if (this.queue.length === 1) this.schedule()
    })
  }

  private cancel (waiter: Waiter): void {
    const at = this.queue.indexOf(waiter)
    if (at < 0) return
    this.queue.splice(at, 1)
    waiter.reject(waiter.signal?.reason)
    // the next in line may already be payable, or needs its own timer
    if (at === 0) this.drain()
  }

  /** Grant every head waiter the bucket can pay for, then time the next one. */
  private drain (): void {
    if (this._rate !== Infinity) this.refill()
    while (this.queue.length > 0) {
      const head = this.queue[0]
      if (this._rate !== Infinity) {
        if (!this.canGrant(head.n)) break
        this.tokens -= head.n
      }
      this.queue.shift()
      if (head.onAbort != null) head.signal?.removeEventListener('abort', head.onAbort)
      head.resolve()
    }
    if (this.queue.length === 0) this.tokens = Math.min(this.tokens, this._burst)
    this.schedule()
  }

  private schedule (): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    if (this.queue.length === 0 || this._rate === Infinity) return
    const short = Math.min(this.queue[0].n, this._burst) - this.tokens
    const ms = Math.max(1, Math.ceil(short * 1000 / this._rate))
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.drain()
    }, ms)
    // the transfer it paces holds its own socket; a wait alone must not keep a stopped process alive
    this.timer.unref?.()
  }

  private canGrant (n: number): boolean {
    return this.tokens + EPSILON >= Math.min(n, this._burst)
  }

  private refill (): void {
    const t = this.now()
    const elapsed = t - this.lastRefill
    if (elapsed <= 0) return
    this.lastRefill = t
    const cap = this.queue.length > 0 ? 2 * this._burst : this._burst
    this.tokens = Math.min(cap, this.tokens + elapsed * this._rate / 1000)
  }
}

function normalizeRate (rate: number): number {
  if (typeof rate !== 'number') throw new TypeError(`rate must be a number, got ${typeof rate}`)
  if (Number.isNaN(rate) || rate < 0) throw new RangeError(`rate must be ≥ 0 bytes/s (0 or Infinity = unlimited), got ${rate}`)
  return rate === 0 ? Infinity : rate
}

function defaultBurst (rate: number): number {
  if (rate === Infinity) return Infinity
  return Math.max(rate * DEFAULT_BURST_MS / 1000, MIN_DEFAULT_BURST_BYTES)
}
