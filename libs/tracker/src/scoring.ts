import { MAX_OBSERVER_WEIGHT, RELIABLE_ABOVE, SPEED_SAMPLES, UNRELIABLE_BELOW, UPTIME_TAU_SECONDS, UPTIME_WEIGHT } from './constants.js'

/**
 * The uptime factor in [0, 1): 1 − e^(−uptime/τ) with τ = 1200 s. It is 0 for a peer that just
 * started, 0.39 after 10 min, 0.78 after 30 min and 0.950 after 1 h (1 − e^(−3)), approaching 1
 * after that: a peer that stays up longer is likelier to still be up when a download needs it.
 *
 * @param uptimeSeconds seconds the peer has been up (as the tracker observed it); negative counts as 0
 */
export function uptimeFactor (uptimeSeconds: number): number {
  if (!(uptimeSeconds > 0)) return 0
  return 1 - Math.exp(-uptimeSeconds / UPTIME_TAU_SECONDS)
}

/**
 * The upload success ratio, estimated by Laplace's rule of succession: (s + 1) / (s + f + 2).
 * With no evidence it is the neutral prior 0.5, so a new peer is neither trusted nor shut out;
 * with evidence it converges to s / (s + f) (100 served, 10 failed → 0.902).
 *
 * @param successes chunks the peer served successfully (≥ 0)
 * @param failures chunk requests it failed (≥ 0)
 */
export function uploadSuccessRatio (successes: number, failures: number): number {
  const s = Math.max(0, successes)
  const f = Math.max(0, failures)
  return (s + 1) / (s + f + 2)
}

/** What reputation is computed from. */
export interface ReputationInput {
  /**
   * Seconds the tracker has been hearing from the peer without a gap past the peer timeout:
   * its last gossip applied minus its first (what the peer claims as uptime is not used).
   */
  observedUptimeSeconds: number
  /** Chunk requests the peer says it failed: an admission against itself, so it may only lower reputation (by at most one observer's weight). */
  chunksFailed: number
  /** Sum over observers of the chunks they received from it (each observer's share bounded, see the store). */
  observedSuccesses: number
  /** Sum over observers of the requests to it that failed (each observer's share bounded). */
  observedFailures: number
}

/**
 * Reputation in [0, 1], from what OTHERS observed of the peer, never from what it claims:
 *
 *   reputation = ratio × (1 − w + w × uptimeFactor(observedUptimeSeconds)),  w = 1/3
 *   ratio      = (s + 1) / (s + f + 2)   (Laplace's rule of succession, {@link uploadSuccessRatio})
 *   s          = observedSuccesses
 *   f          = max(observedFailures, min(chunksFailed, MAX_OBSERVER_WEIGHT))
 *
 * Sources: `observedSuccesses`/`observedFailures` are the sums of the counts other peers report
 * in their metrics (`PeerObservation`), each observer's share capped in the store at
 * MAX_OBSERVER_WEIGHT outcomes and at MAX_OBSERVED_REQUESTS_PER_SECOND × the time between its
 * reports, so one observer cannot sink a peer and many are needed; `observedUptimeSeconds` is the
 * tracker's own first-seen/last-seen span. The peer's self-reported chunks served and uptime are
 * ignored (anyone can claim 10^12 chunks); its self-reported failures may only lower it, and
 * weigh no more than one observer's (others can make a node fail requests it counts itself).
 *
 * A newcomer with no observations gets the neutral prior 0.5 × 2/3 = 0.333 (neutral); a peer
 * with 100 observed successes and none failed is at 0.660 when first seen and 0.973 after an
 * hour; 100 observed successes, 10 failures, 1 h → 0.902 × 0.983 = 0.887 (reliable).
 */
export function reputation (input: ReputationInput): number {
  const s = Math.max(0, input.observedSuccesses)
  const f = Math.max(Math.min(input.chunksFailed, MAX_OBSERVER_WEIGHT), input.observedFailures)
  return uploadSuccessRatio(s, f) * (1 - UPTIME_WEIGHT + UPTIME_WEIGHT * uptimeFactor(input.observedUptimeSeconds))
}

export type Reliability = 'reliable' | 'neutral' | 'unreliable'

/** Reliable above 0.8, unreliable below 0.3, neutral in between. */
export function reliability (rep: number): Reliability {
  if (rep > RELIABLE_ABOVE) return 'reliable'
  if (rep < UNRELIABLE_BELOW) return 'unreliable'
  return 'neutral'
}

/**
 * Download speed: the mean of the last {@link SPEED_SAMPLES} (10) measurements, bytes/s;
 * 0 with none. `samples` is newest first; anything past the 10th is ignored.
 */
export function downloadSpeed (samples: readonly number[]): number {
  const recent = samples.slice(0, SPEED_SAMPLES)
  if (recent.length === 0) return 0
  return recent.reduce((a, b) => a + b, 0) / recent.length
}

/** Add a measurement (bytes/s) to a newest-first list, keeping the last {@link SPEED_SAMPLES}. */
export function addSpeedSample (samples: readonly number[], bytesPerSecond: number): number[] {
  return [bytesPerSecond, ...samples].slice(0, SPEED_SAMPLES)
}

/** A peer is online when it was heard from within `peerTimeoutMs` of `now` (both Unix ms). */
export function isOnline (lastSeenMs: number, now: number, peerTimeoutMs: number): boolean {
  return lastSeenMs > 0 && now - lastSeenMs <= peerTimeoutMs
}
