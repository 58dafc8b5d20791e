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
