import { MAX_MESSAGE_BYTES, MAX_READ_BUFFER_BYTES } from './constants.js'

/**
 * What one remote peer may cost this node; past each, the peer is refused (a stream reset, a
 * request answered OVERLOADED, a session closed) and the refusal is reported with its
 * {@link RefusalReason}. All counts are per remote peer, across its connections.
 */
export interface PeerLimits {
  /** Block streams (`/codio/chunk`) one peer may have open to us at once. Default 8. */
  maxStreams: number
  /** Swarm sessions (`/codio/swarm`) one peer may have open to us at once. Default 256. */
  maxSessions: number
  /** Block requests one peer may have queued or in service at once (server side). Default 256. */
  maxRequestsInFlight: number
  /**
   * Largest block-stream message read from a peer, bytes. Default {@link MAX_MESSAGE_BYTES}
   * (the largest chunk or manifest plus framing); never above it.
   */
  maxMessageBytes: number
  /**
   * Bytes a block stream's reader buffers at most (a peer holds at most `maxStreams` of them).
   * Default {@link MAX_READ_BUFFER_BYTES}; at least `maxMessageBytes`.
   */
  maxBufferedBytes: number
  /**
   * Swarm state messages (`have` indexes, choke / interest changes, peer exchange) one session
   * may carry per second, sustained. Default 5000 (a peer fetching 256 KiB chunks at 1 GB/s
   * announces about 4000 a second).
   */
  haveRatePerSecond: number
  /** Burst of swarm state messages above the rate one session may carry. Default 20 000. */
  haveBurst: number
}

/** Why a peer was refused: the label of `codio_exchange_refused_total{reason}`. */
export type RefusalReason = 'streams' | 'sessions' | 'requests' | 'message_size' | 'buffer' | 'have_rate' | 'have_range'

export const DEFAULT_PEER_LIMITS: Readonly<PeerLimits> = Object.freeze({
  maxStreams: 8,
  maxSessions: 256,
  maxRequestsInFlight: 256,
  maxMessageBytes: MAX_MESSAGE_BYTES,
  maxBufferedBytes: MAX_READ_BUFFER_BYTES,
  haveRatePerSecond: 5000,
  haveBurst: 20_000
})

/**
 * `partial` over the defaults, checked.
 * @throws RangeError a limit that is not a positive integer, a message limit above
 *   {@link MAX_MESSAGE_BYTES}, or a buffer smaller than one message
 */
export function peerLimits (partial: Partial<PeerLimits> = {}): PeerLimits {
  const l: PeerLimits = { ...DEFAULT_PEER_LIMITS }
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) (l as any)[k] = v
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`limits.${k} must be a positive integer, got ${String(v)}`)
  }
  if (l.maxMessageBytes > MAX_MESSAGE_BYTES) throw new RangeError(`limits.maxMessageBytes must be at most ${MAX_MESSAGE_BYTES}`)
  if (l.maxBufferedBytes < l.maxMessageBytes) throw new RangeError('limits.maxBufferedBytes must be at least limits.maxMessageBytes')
  return l
}

/** The refusal reason of a read error of an `lpStream`, if it was a limit. */
export function readLimitReason (err: unknown): RefusalReason | undefined {
  const name = (err as Error | undefined)?.name
  if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') return 'message_size'
  if (name === 'StreamBufferError') return 'buffer'
  return undefined
}

/** @internal Open streams per remote peer, admitting up to a limit. */
export class StreamCounter {
  private readonly open = new Map<string, number>()
  constructor (private readonly limit: number) {}

  /** Take a slot for `peer`; false (nothing taken) when it holds `limit` already. */
  acquire (peer: string): boolean {
    const n = this.open.get(peer) ?? 0
    if (n >= this.limit) return false
    this.open.set(peer, n + 1)
    return true
  }

  release (peer: string): void {
    const n = (this.open.get(peer) ?? 1) - 1
    if (n <= 0) this.open.delete(peer)
    else this.open.set(peer, n)
  }
}

/** @internal A token bucket: `rate` tokens a second, `burst` at most. */
export class TokenBucket {
  private tokens: number
  private at = performance.now()
  constructor (private readonly rate: number, private readonly burst: number) {
    this.tokens = burst
  }

  /** Spend `n` tokens; false when there are not enough (nothing spent). */
  take (n: number): boolean {
    const now = performance.now()
    this.tokens = Math.min(this.burst, this.tokens + (now - this.at) * this.rate / 1000)
    this.at = now
    if (this.tokens < n) return false
    this.tokens -= n
    return true
  }
}
