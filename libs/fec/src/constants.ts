/**
 * Default data shards per FEC group (k). With {@link DEFAULT_PARITY_SHARDS} this is RS(10, 4),
 * the code of Facebook's f4 warm storage and HDFS-EC's `RS-10-4`: 40 % overhead, any 4 of 14
 * shards may be lost. See the issue notes and `bench/fec-ingest.bench.mjs` for the measurements
 * behind the choice.
 */
export const DEFAULT_DATA_SHARDS = 10
/** Default parity shards per FEC group (m). */
export const DEFAULT_PARITY_SHARDS = 4
/** GF(2^8) Reed-Solomon allows at most 256 shards (data + parity) per group. */
export const MAX_SHARDS = 256
/**
 * Most shards (k + m) per group an upload may ask for. Coding cost grows with k × m per byte and
 * a group is held in memory while it is coded; 64 keeps the widest useful codes (e.g. 32+32,
 * 48+16) and refuses the pathological ones (1+255).
 */
export const MAX_INGEST_SHARDS = 64
/**
 * Most parity shards per data shard an upload may ask for (m ≤ k): beyond that, storing more
 * whole copies costs less than coding (1+255 wrote 255 parity chunks per chunk).
 */
export const MAX_PARITY_RATIO = 1
/**
 * Most bytes one FEC group may span at ingest: (k + m) × chunk size. The ingest holds about two
 * groups and their parity while it codes, so this bounds its memory: 10+4 at 8 MiB chunks is
 * 112 MiB; 1+255 at 8 MiB (2 GiB of parity per chunk) is refused.
 */
export const MAX_FEC_GROUP_BYTES = 128 * 1024 * 1024
