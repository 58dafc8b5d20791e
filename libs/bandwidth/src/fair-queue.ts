import { assertByteCount } from './validate.js'
import type { TokenBucket } from './token-bucket.js'

interface Request {
  flow: string
  n: number
  /** SCFQ finish tag (bytes of virtual time) */
  tag: number
  /** arrival order, breaks ties between equal tags */
  seq: number
  resolve: () => void
  reject: (reason: unknown) => void
  signal?: AbortSignal
  onAbort?: () => void
}

/**
 * Fair queueing in front of a {@link TokenBucket}: transfers of many flows (one per peer)
 * share the bucket's rate evenly instead of in arrival order. A peer that queues four 1 MiB
 * chunks does not make the next peer wait for all four, and a small transfer (a manifest, a
 * few KiB) overtakes the bulk ones queued before it — what a peer that just joined needs to
 * start.
 *
 * The order is Self-Clocked Fair Queueing (Golestani, "A Self-Clocked Fair Queueing Scheme
 * for Broadband Applications", INFOCOM 1994): a request of n bytes from flow f gets the finish
 * tag `max(v, last[f]) + n`, where v is the tag of the request granted last and last[f] the
 * tag of f's previous request; the smallest tag is granted next (ties in arrival order). Over
 * any busy period two backlogged flows receive bytes within one maximum request size of each
 * other. Requests go to the bucket one at a time, so its rate and burst still bound the total.
 *
 * @example
 * ```ts
 * const upload = new FairQueue(new TokenBucket({ rate: 8e6 }))
 * await upload.take(peerId.toString(), chunk.byteLength)
 * stream.write(chunk)
 * ```
 */
export class FairQueue {
  private readonly heap: Request[] = []
  /** finish tag of each flow's latest request (only flows seen in the current busy period) */
  private readonly last = new Map<string, number>()
  private virtualTime = 0
  private seq = 0
  /** a request has been handed to the bucket and is waiting there */
  private busy = false

  constructor (readonly bucket: TokenBucket) {}

  /** Requests waiting for their turn (not counting the one at the bucket). */
  get waiting (): number {
    return this.heap.length
  }

  /**
   * Wait for this flow's fair turn and for the bucket, then take `n` bytes of tokens.
   *
   * @param flow - who the bytes are for (a peer ID string)
   * @param n - bytes
   * @param signal - aborting it rejects with `signal.reason` and gives up the turn
   * @throws (rejects) TypeError / RangeError for a bad `n`; the signal's reason when aborted
   */
  async take (flow: string, n: number, signal?: AbortSignal): Promise<void> {
    assertByteCount(n, 'n')
    if (signal?.aborted === true) throw signal.reason
    if (this.bucket.rate === Infinity) return
    const tag = Math.max(this.virtualTime, this.last.get(flow) ?? 0) + n
    this.last.set(flow, tag)
    // nobody ahead: straight to the bucket (which may still make it wait for tokens)
    if (!this.busy && this.heap.length === 0 && this.bucket.tryTake(n)) {
      this.granted(tag)
      return
    }
    await new Promise<void>((resolve, reject) => {
      const req: Request = { flow, n, tag, seq: this.seq++, resolve, reject, signal }
      if (signal != null) {
        req.onAbort = () => this.cancel(req)
        signal.addEventListener('abort', req.onAbort, { once: true })
      }
      this.push(req)
      this.pump()
    })
  }

  private granted (tag: number): void {
    this.virtualTime = tag
    // the busy period is over: every flow's tag is ≤ v, so forgetting them changes no order
    if (this.heap.length === 0 && !this.busy) this.last.clear()
  }

  /** Hand the smallest-tagged request to the bucket, one at a time. */
  private pump (): void {
    if (this.busy) return
    const req = this.pop()
    if (req == null) return
    this.busy = true
    if (req.onAbort != null) req.signal?.removeEventListener('abort', req.onAbort)
    this.bucket.take(req.n, req.signal).then(() => {
      this.busy = false
      this.granted(req.tag)
      req.resolve()
      this.pump()
    }, (err: unknown) => {
      this.busy = false
      req.reject(err)
      this.pump()
    })
  }

  private cancel (req: Request): void {
    const at = this.heap.indexOf(req)
    if (at < 0) return
    this.removeAt(at)
    req.reject(req.signal?.reason)
  }

  // binary min-heap on (tag, seq)

  private less (a: Request, b: Request): boolean {
    return a.tag < b.tag || (a.tag === b.tag && a.seq < b.seq)
  }

  private push (req: Request): void {
    this.heap.push(req)
    this.up(this.heap.length - 1)
  }

  private pop (): Request | undefined {
    if (this.heap.length === 0) return undefined
    const top = this.heap[0]
    this.removeAt(0)
    return top
  }

  private removeAt (i: number): void {
    const end = this.heap.pop()!
    if (i === this.heap.length) return
    this.heap[i] = end
    this.up(i)
    this.down(i)
  }

  private up (i: number): void {
    const h = this.heap
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(h[i], h[parent])) break
      ;[h[i], h[parent]] = [h[parent], h[i]]
      i = parent
    }
  }

  private down (i: number): void {
    const h = this.heap
    while (true) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < h.length && this.less(h[l], h[m])) m = l
      if (r < h.length && this.less(h[r], h[m])) m = r
      if (m === i) break
      ;[h[i], h[m]] = [h[m], h[i]]
      i = m
    }
  }
}
