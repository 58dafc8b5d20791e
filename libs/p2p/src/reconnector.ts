import type { AbortOptions, Connection, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import {
  RECONNECT_BACKOFF_FACTOR, RECONNECT_DIAL_TIMEOUT_MS, RECONNECT_INITIAL_DELAY_MS, RECONNECT_MAX_DELAY_MS
} from './constants.js'
import { InvalidOptionError } from './errors.js'

/** Backoff of the reconnection loop; every field optional, defaults in `constants.ts`. */
export interface ReconnectInit {
  /** Delay before the first attempt after a kept-alive peer disconnects, ms. Default 1 000. */
  initialDelayMs?: number
  /** Ceiling on the delay between attempts, ms. Default 30 000. */
  maxDelayMs?: number
  /** Delay growth per failed attempt (≥ 1). Default 2. */
  factor?: number
  /** Time allowed for one dial, ms. Default 10 000. */
  dialTimeoutMs?: number
}

/** What the reconnector needs from the node: libp2p's connection manager, narrowed. */
export interface Dialer {
  getConnections(peerId?: PeerId): Connection[]
  openConnection(peer: PeerId | Multiaddr | Multiaddr[], options?: AbortOptions): Promise<Connection>
}

interface Pin {
  peerId: PeerId
  reasons: Set<string>
  /** Failed attempts since the peer was last connected. */
  failures: number
  timer?: ReturnType<typeof setTimeout>
  dialing: boolean
}

function checkAtLeast (name: string, value: number | undefined, min: number): void {
  if (value != null && (!Number.isFinite(value) || value < min)) {
    throw new InvalidOptionError(`reconnect.${name} must be a finite number ≥ ${min}, got ${value}`)
  }
}

/**
 * Validate {@link ReconnectInit}.
 *
 * @throws InvalidOptionError when a delay is negative, the dial timeout not positive or the factor below 1
 */
export function checkReconnectInit (init: ReconnectInit): void {
  checkAtLeast('initialDelayMs', init.initialDelayMs, 0)
  checkAtLeast('maxDelayMs', init.maxDelayMs, 0)
  checkAtLeast('factor', init.factor, 1)
  checkAtLeast('dialTimeoutMs', init.dialTimeoutMs, 1)
}

/**
 * Keeps connections to pinned peers: when a pinned peer has no connection left it is redialled
 * after `initialDelayMs`, then after delays growing by `factor` up to `maxDelayMs`, with ±20 %
 * jitter so peers that lost the same bootstrap node do not redial it in lock-step ("exponential
 * backoff and jitter", AWS Architecture Blog 2015). Unlike libp2p's own reconnect queue it never
 * gives up on a pinned peer: a relay or bootstrap node that is down for an hour is reconnected
 * within `maxDelayMs` of coming back. A peer stays pinned while at least one reason holds it.
 */
export class Reconnector {
  private readonly pins = new Map<string, Pin>()
  private readonly initialDelay: number
  private readonly maxDelay: number
  private readonly factor: number
  private readonly dialTimeout: number
  private started = false

  /**
   * @param onAttempt called before each dial, with the peer being redialled
   * @throws InvalidOptionError see {@link checkReconnectInit}
   */
  constructor (
    private readonly dialer: Dialer,
    private readonly log: Logger,
    private readonly onAttempt: (peerId: PeerId) => void,
    init: ReconnectInit = {}
  ) {
    checkReconnectInit(init)
    this.initialDelay = init.initialDelayMs ?? RECONNECT_INITIAL_DELAY_MS
    this.maxDelay = Math.max(init.maxDelayMs ?? RECONNECT_MAX_DELAY_MS, this.initialDelay)
    this.factor = init.factor ?? RECONNECT_BACKOFF_FACTOR
    this.dialTimeout = init.dialTimeoutMs ?? RECONNECT_DIAL_TIMEOUT_MS
  }

  /** Delay before attempt `failures + 1`, ms, jitter included. */
  delay (failures: number): number {
    const base = Math.min(this.initialDelay * this.factor ** failures, this.maxDelay)
    return Math.round(base * (0.8 + Math.random() * 0.4))
  }

  /** Pin `peerId` for `reason`. Returns true when the peer was not pinned before. */
  pin (peerId: PeerId, reason: string): boolean {
    const key = peerId.toString()
    const existing = this.pins.get(key)
    if (existing != null) {
      existing.reasons.add(reason)
      return false
    }
    const pin: Pin = { peerId, reasons: new Set([reason]), failures: 0, dialing: false }
    this.pins.set(key, pin)
    if (this.started && this.dialer.getConnections(peerId).length === 0) this.schedule(pin, 0)
    return true
  }

  /** Drop `reason` from the peer's pin. Returns true when no reason holds the peer any more. */
  unpin (peerId: PeerId, reason: string): boolean {
    const key = peerId.toString()
    const pin = this.pins.get(key)
    if (pin == null) return false
    pin.reasons.delete(reason)
    if (pin.reasons.size > 0) return false
    clearTimeout(pin.timer)
    this.pins.delete(key)
    return true
  }

  isPinned (peerId: PeerId): boolean {
    return this.pins.has(peerId.toString())
  }

  /** Peers pinned now. */
  pinned (): PeerId[] {
    return [...this.pins.values()].map(p => p.peerId)
  }

  start (): void {
    this.started = true
    // give the bootstrap module's own dial at start a head start before counting a reconnect
    for (const pin of this.pins.values()) {
      if (this.dialer.getConnections(pin.peerId).length === 0) this.schedule(pin, this.delay(0))
    }
  }

  stop (): void {
    this.started = false
    for (const pin of this.pins.values()) {
      clearTimeout(pin.timer)
      pin.timer = undefined
      pin.failures = 0
    }
  }

  /** A connection to `peerId` opened: stop retrying it. */
  connected (peerId: PeerId): void {
    const pin = this.pins.get(peerId.toString())
    if (pin == null) return
    clearTimeout(pin.timer)
    pin.timer = undefined
    pin.failures = 0
  }

  /** The last connection to `peerId` closed: start the backoff loop if it is pinned. */
  disconnected (peerId: PeerId): void {
    const pin = this.pins.get(peerId.toString())
    if (pin == null || !this.started) return
    this.schedule(pin, this.delay(0))
  }

  private schedule (pin: Pin, ms: number): void {
    clearTimeout(pin.timer)
    pin.timer = setTimeout(() => {
      pin.timer = undefined
      void this.attempt(pin)
    }, ms)
    pin.timer.unref?.()
  }

  private async attempt (pin: Pin): Promise<void> {
    if (!this.started || pin.dialing || this.pins.get(pin.peerId.toString()) !== pin) return
    if (this.dialer.getConnections(pin.peerId).length > 0) {
      pin.failures = 0
      return
    }
    pin.dialing = true
    this.onAttempt(pin.peerId)
    try {
      await this.dialer.openConnection(pin.peerId, { signal: AbortSignal.timeout(this.dialTimeout) })
      pin.failures = 0
      this.log('reconnected to %p', pin.peerId)
    } catch (err: any) {
      pin.failures++
      if (this.started && this.pins.get(pin.peerId.toString()) === pin) {
        const next = this.delay(pin.failures)
        this.log('reconnect to %p failed (attempt %d, next in %d ms): %s', pin.peerId, pin.failures, next, err?.message)
        this.schedule(pin, next)
      }
    } finally {
      pin.dialing = false
    }
  }
}
