import { RELIABLE_ABOVE, SPEED_SAMPLES, UNRELIABLE_BELOW, UPTIME_TAU_SECONDS } from './constants.js'

/**
 * The uptime factor in [0, 1): 1 − e^(−uptime/τ) with τ = 1200 s. It is 0 for a peer that just
 * started, 0.39 after 10 min, 0.78 after 30 min and 0.950 after 1 h (1 − e^(−3)), approaching 1
 * after that: a peer that stays up longer is likelier to still be up when a download needs it.
 *
 * @param uptimeSeconds seconds since the peer started, as it last reported; negative counts as 0
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
  uptimeSeconds: number
  /** Chunks the peer says it served (cumulative since it started). */
  chunksServed: number
  /** Chunk requests the peer says it failed. */
  chunksFailed: number
  /** Sum over observers of the chunks they received from it. */
  observedSuccesses: number
  /** Sum over observers of the requests to it that failed. */
  observedFailures: number
}

/**
 * Reputation in [0, 1] = upload success ratio × uptime factor ({@link uploadSuccessRatio},
 * {@link uptimeFactor}). Successes and failures are each the larger of what the peer reports
 * and what its observers report in total: the two sides count the same transfers, so taking
 * the larger avoids counting them twice, and a peer cannot hide failures others saw.
 *
 * 100 served, 10 failed, 1 h up → 0.902 × 0.950 = 0.857 (reliable).
 */
export function reputation (input: ReputationInput): number {
  const s = Math.max(input.chunksServed, input.observedSuccesses)
  const f = Math.max(input.chunksFailed, input.observedFailures)
  return uploadSuccessRatio(s, f) * uptimeFactor(input.uptimeSeconds)
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
