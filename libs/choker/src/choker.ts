import {
  DEFAULT_NEW_PEER_MS, DEFAULT_OPTIMISTIC_INTERVAL_MS, DEFAULT_OPTIMISTIC_SLOTS, DEFAULT_REGULAR_SLOTS,
  DEFAULT_UNCHOKE_INTERVAL_MS, NEW_PEER_WEIGHT
} from './constants.js'
import { ChokerRunningError } from './errors.js'
import { fastest, weightedDraw } from './rank.js'
import type { ChokeDecision, ChokerOptions, ChokerPeer } from './types.js'

/**
 * BEP 3 tit-for-tat choking, as BitTorrent mainline and libtorrent's `fastest_upload` choker
 * do it, plus the optimistic unchoke.
 *
 * Each {@link recompute}:
 * - only interested peers are ever unchoked;
 * - the `regularSlots` go to the interested peers that upload to us fastest (`downloadRate`)
 *   while we leech, or that we upload to fastest (`uploadRate`) while we seed; ties at random;
 * - the `optimisticSlots` go to interested peers outside the regular set, drawn at random with
 *   peers connected for less than `newPeerMs` weighing 3 (mainline). They are kept between
 *   recomputes and redrawn — preferring other peers than the current ones — once
 *   `optimisticIntervalMs` has passed since the last draw; a vacated one (the peer left, lost
 *   interest or earned a regular slot) is refilled at once without restarting that period;
 * - a peer absent from `peers` simply has no slot any more.
 *
 * Deviations from mainline: no anti-snubbing, and uninterested fast peers are not unchoked
 * in advance (mainline unchokes them so they can become "downloaders").
 *
 * @example
 * ```ts
 * const choker = new Choker()
 * choker.start(() => ({ peers: connected(), seeding: store.complete }), d => {
 *   for (const p of connected()) d.unchoked.has(p.id) ? unchoke(p) : choke(p)
 * })
 * ```
 */
export class Choker {
  private _regularSlots: number
  private _optimisticSlots: number
  private _unchokeIntervalMs: number
  private _optimisticIntervalMs: number
  readonly newPeerMs: number
  private readonly now: () => number
  private readonly random: () => number
  private readonly onError: (err: unknown) => void
  private unchoked = new Set<string>()
  private optimistic = new Set<string>()
  /** when the optimistic slots were last redrawn (ms) */
  private drawnAt: number | undefined
  private timer: NodeJS.Timeout | undefined
  /** what {@link start} ticks with, kept to re-arm the timer on an interval change */
  private tick: (() => void) | undefined

  /** @throws RangeError for a negative or non-integer slot count or a non-positive interval */
  constructor (opts: ChokerOptions = {}) {
    this._regularSlots = count(opts.regularSlots ?? DEFAULT_REGULAR_SLOTS, 'regularSlots')
    this._optimisticSlots = count(opts.optimisticSlots ?? DEFAULT_OPTIMISTIC_SLOTS, 'optimisticSlots')
    this._unchokeIntervalMs = positive(opts.unchokeIntervalMs ?? DEFAULT_UNCHOKE_INTERVAL_MS, 'unchokeIntervalMs')
    this._optimisticIntervalMs = positive(opts.optimisticIntervalMs ?? DEFAULT_OPTIMISTIC_INTERVAL_MS, 'optimisticIntervalMs')
    this.newPeerMs = count(opts.newPeerMs ?? DEFAULT_NEW_PEER_MS, 'newPeerMs')
    this.now = opts.now ?? Date.now
    this.random = opts.random ?? Math.random
    this.onError = opts.onError ?? (err => { process.emitWarning(err instanceof Error ? err : String(err)) })
  }

  /** Peers unchoked for their rate. */
  get regularSlots (): number { return this._regularSlots }
  /** Peers unchoked at random on top. */
  get optimisticSlots (): number { return this._optimisticSlots }
  /** Period of the recompute {@link start} runs (ms). */
  get unchokeIntervalMs (): number { return this._unchokeIntervalMs }
  /** Period of the optimistic rotation (ms). */
  get optimisticIntervalMs (): number { return this._optimisticIntervalMs }

  /**
   * Change slot counts and intervals while running (a live configuration change). Fields left
   * out keep their value. Validated all together before anything changes. A running choker
   * recomputes at once with the new slots and re-arms its timer with the new interval; a
   * shorter optimistic interval takes effect at the next recompute.
   *
   * @throws RangeError as the constructor does, changing nothing
   */
  reconfigure (opts: Pick<ChokerOptions, 'regularSlots' | 'optimisticSlots' | 'unchokeIntervalMs' | 'optimisticIntervalMs'>): void {
    const regular = count(opts.regularSlots ?? this._regularSlots, 'regularSlots')
    const optimistic = count(opts.optimisticSlots ?? this._optimisticSlots, 'optimisticSlots')
    const interval = positive(opts.unchokeIntervalMs ?? this._unchokeIntervalMs, 'unchokeIntervalMs')
    const optimisticInterval = positive(opts.optimisticIntervalMs ?? this._optimisticIntervalMs, 'optimisticIntervalMs')
    const changed = regular !== this._regularSlots || optimistic !== this._optimisticSlots || interval !== this._unchokeIntervalMs || optimisticInterval !== this._optimisticIntervalMs
    this._regularSlots = regular
    this._optimisticSlots = optimistic
    this._unchokeIntervalMs = interval
    this._optimisticIntervalMs = optimisticInterval
    if (!changed || this.timer === undefined || this.tick === undefined) return
    clearInterval(this.timer)
    this.timer = setInterval(this.tick, this._unchokeIntervalMs)
    this.timer.unref()
    this.tick()
  }

  /**
   * Decide who is unchoked now (see the class notes for the rules).
   *
   * @param peers - the connected peers, each once
   * @param seeding - we have every piece: rank by our upload rate instead of theirs
   * @throws TypeError for a peer without a string id or a duplicate id, RangeError for a
   * rate that is not a finite number ≥ 0
   */
  recompute (peers: readonly ChokerPeer[], seeding: boolean): ChokeDecision {
    validate(peers)
    const interested = peers.filter(p => p.interested)
    const rateOf = seeding ? (p: ChokerPeer) => p.uploadRate : (p: ChokerPeer) => p.downloadRate
    const regular = new Set(fastest(interested, this.regularSlots, rateOf, this.random).map(p => p.id))
    const candidates = interested.filter(p => !regular.has(p.id))
    const optimistic = this.drawOptimistic(candidates)

    const unchoked = new Set([...regular, ...optimistic])
    const changed = unchoked.size !== this.unchoked.size || [...unchoked].some(id => !this.unchoked.has(id))
    this.unchoked = unchoked
    this.optimistic = optimistic
    return { unchoked: new Set(unchoked), optimistic: new Set(optimistic), changed }
  }

  /** Whether the last decision unchoked `id`. */
  isUnchoked (id: string): boolean {
    return this.unchoked.has(id)
  }

  /** The last decision, as copies. */
  get decision (): { unchoked: Set<string>, optimistic: Set<string> } {
    return { unchoked: new Set(this.unchoked), optimistic: new Set(this.optimistic) }
  }

  /**
   * Recompute now and then every `unchokeIntervalMs` (an unref'd timer) from `source()`,
   * calling `onChange` when the unchoked set changed. Errors from `source` or `onChange` go to
   * `onError` (default: a process warning) and the timer carries on.
   *
   * @throws ChokerRunningError if already started
   */
  start (source: () => { peers: ChokerPeer[], seeding: boolean }, onChange: (d: ChokeDecision) => void): void {
    if (this.timer !== undefined) throw new ChokerRunningError()
    const tick = (): void => {
      try {
        const { peers, seeding } = source()
        const d = this.recompute(peers, seeding)
        if (d.changed) onChange(d)
      } catch (err) {
        this.onError(err)
      }
    }
    this.tick = tick
    this.timer = setInterval(tick, this._unchokeIntervalMs)
    this.timer.unref()
    tick()
  }

  /** Stop the timer (the last decision is kept). Idempotent. */
  stop (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    this.tick = undefined
  }

  private drawOptimistic (candidates: ChokerPeer[]): Set<string> {
    const now = this.now()
    const weight = (p: ChokerPeer): number => now - p.connectedAt < this.newPeerMs ? NEW_PEER_WEIGHT : 1
    const slots = this.optimisticSlots
    if (this.drawnAt === undefined || now - this.drawnAt >= this.optimisticIntervalMs) {
      this.drawnAt = now
      const others = candidates.filter(p => !this.optimistic.has(p.id))
      const picked = weightedDraw(others, slots, weight, this.random)
      if (picked.length < slots) {
        // not enough other peers: the current ones may stay
        const current = candidates.filter(p => this.optimistic.has(p.id))
        picked.push(...weightedDraw(current, slots - picked.length, weight, this.random))
      }
      return new Set(picked.map(p => p.id))
    }
    const kept = candidates.filter(p => this.optimistic.has(p.id))
    if (kept.length < slots) {
      const rest = candidates.filter(p => !this.optimistic.has(p.id))
      kept.push(...weightedDraw(rest, slots - kept.length, weight, this.random))
    }
    return new Set(kept.map(p => p.id))
  }
}

function validate (peers: readonly ChokerPeer[]): void {
  const seen = new Set<string>()
  for (const p of peers) {
    if (typeof p?.id !== 'string') throw new TypeError('every peer needs a string id')
    if (seen.has(p.id)) throw new TypeError(`peer ${p.id} listed twice`)
    seen.add(p.id)
    for (const key of ['downloadRate', 'uploadRate', 'connectedAt'] as const) {
      const v = p[key]
      if (typeof v !== 'number' || !Number.isFinite(v) || (key !== 'connectedAt' && v < 0)) {
        throw new RangeError(`peer ${p.id}: ${key} must be a finite number${key !== 'connectedAt' ? ' ≥ 0' : ''}, got ${String(v)}`)
      }
    }
  }
}

function count (v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${what} must be an integer ≥ 0, got ${v}`)
  return v
}

function positive (v: number, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`${what} must be a finite number > 0 (ms), got ${v}`)
  return v
}
