/**
 * @packageDocumentation
 * Bandwidth for the swarm: a {@link TokenBucket} that paces uploads/downloads to a configured
 * rate (single-rate token bucket, RFC 2697 style), a {@link FairQueue} that shares it evenly
 * between peers (self-clocked fair queueing), and rolling {@link RateMeter}s per peer
 * ({@link PeerRates}) — the rates the choker ranks peers by (BEP 3 §choking).
 *
 * @example
 * ```ts
 * import { TokenBucket, PeerRates } from '@codio/bandwidth'
 * const upload = new TokenBucket({ rate: 10 * 1024 * 1024 })   // 10 MiB/s, 0 = unlimited
 * const rates = new PeerRates()
 *
 * await upload.take(chunk.byteLength, signal)
 * await send(peer, chunk)
 * rates.recordUp(peer.toString(), chunk.byteLength)
 * rates.up(peer.toString())                                    // bytes/s over the last 20 s
 * ```
 */
export { DEFAULT_BURST_MS, MIN_DEFAULT_BURST_BYTES, DEFAULT_RATE_WINDOW_MS, DEFAULT_RATE_BUCKET_MS } from './constants.js'
export { TokenBucket, type TokenBucketInit } from './token-bucket.js'
export { FairQueue } from './fair-queue.js'
export { RateMeter, type RateMeterInit } from './rate-meter.js'
export { PeerRates, type PeerRateSnapshot } from './peer-rates.js'
