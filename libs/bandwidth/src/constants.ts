/**
 * Burst of a {@link TokenBucket} with no explicit `burst`, as time at the configured rate
 * (ms): 100 ms worth of bytes. Large enough that timer granularity (1 ms) never caps the
 * rate, small enough that an idle link does not release a long spike.
 */
export const DEFAULT_BURST_MS = 100

/**
 * Floor of the default burst (bytes): 256 KiB, one BEP 3-era piece request window, so slow
 * limits (a few KiB/s) still release whole network reads at once.
 */
export const MIN_DEFAULT_BURST_BYTES = 256 * 1024

/**
 * Window of a {@link RateMeter} (ms): 20 s, the `max_rate_period` of BitTorrent mainline's
 * rolling average (`RateMeasure`), long enough to smooth one chunk's arrival, short enough
 * that the choker notices a peer slowing down within two unchoke rounds.
 */
export const DEFAULT_RATE_WINDOW_MS = 20_000

/** Width of one bucket of a {@link RateMeter} (ms). */
export const DEFAULT_RATE_BUCKET_MS = 1_000
