import { RateMeter, type RateMeterInit } from './rate-meter.js'

/** One peer's transfer figures: rates in bytes/s over the meter window, totals in bytes. */
export interface PeerRateSnapshot {
  peer: string
  upRate: number
  downRate: number
  upBytes: number
  downBytes: number
}

interface Meters {
  up: RateMeter
  down: RateMeter
}

/**
 * Upload and download {@link RateMeter}s per peer, keyed by peer ID string — the figures the
 * choker ranks by (BEP 3: "unchoke the peers with the best upload rate"). "Up" is what we send
 * to the peer, "down" what we receive from it. A peer's meters are made on its first record
 * and kept until {@link remove}.
 */
export class PeerRates {
  private readonly meters = new Map<string, Meters>()

  /** @param init - window, bucket width and clock for every meter (see {@link RateMeterInit}) */
  constructor (private readonly init: RateMeterInit = {}) {
    // validate once here rather than on a peer's first byte
    void new RateMeter(init)
  }

  /** Count `bytes` sent to `peer` now. @throws RangeError / TypeError for a bad byte count */
  recordUp (peer: string, bytes: number): void {
    this.get(peer).up.record(bytes)
  }

  /** Count `bytes` received from `peer` now. @throws RangeError / TypeError for a bad byte count */
  recordDown (peer: string, bytes: number): void {
    this.get(peer).down.record(bytes)
  }

  /** Bytes/s we send to `peer` (0 for an unknown peer). */
  up (peer: string): number {
    return this.meters.get(peer)?.up.rate() ?? 0
  }

  /** Bytes/s we receive from `peer` (0 for an unknown peer). */
  down (peer: string): number {
    return this.meters.get(peer)?.down.rate() ?? 0
  }

  /** Whether `peer` has meters. */
  has (peer: string): boolean {
    return this.meters.has(peer)
  }

  /** Number of peers with meters. */
  get size (): number {
    return this.meters.size
  }

  /** Every metered peer's rates and totals, in first-recorded order. */
  snapshot (): PeerRateSnapshot[] {
    const out: PeerRateSnapshot[] = []
    for (const [peer, m] of this.meters) {
      out.push({ peer, upRate: m.up.rate(), downRate: m.down.rate(), upBytes: m.up.total, downBytes: m.down.total })
    }
    return out
  }

  /** Forget `peer` (on disconnect). @returns whether it was known */
  remove (peer: string): boolean {
    return this.meters.delete(peer)
  }

  private get (peer: string): Meters {
    if (typeof peer !== 'string') throw new TypeError(`peer must be a peer ID string, got ${typeof peer}`)
    let m = this.meters.get(peer)
    if (m === undefined) {
      m = { up: new RateMeter(this.init), down: new RateMeter(this.init) }
      this.meters.set(peer, m)
    }
    return m
  }
}
