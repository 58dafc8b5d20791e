/** Default chunk size: 1 MiB. */
export const DEFAULT_CHUNK_SIZE = 1_048_576
/** Smallest accepted chunk size: 16 KiB. */
export const MIN_CHUNK_SIZE = 16_384
/** Largest accepted chunk size: 8 MiB. */
export const MAX_CHUNK_SIZE = 8_388_608
/** Multicodec `raw` (multiformats table), the codec of chunk CIDs. */
export const RAW_CODEC = 0x55
/** Multicodec `dag-cbor` (multiformats table), the codec of manifest CIDs. */
export const DAG_CBOR_CODEC = 0x71
/** Multihash `sha2-256` (multiformats table). */
export const SHA2_256_CODE = 0x12
/** The only manifest version this library reads and writes. */
export const MANIFEST_VERSION = 1
/** Prefix of the bytes a manifest signature covers (domain separation). */
export const MANIFEST_SIGNING_PREFIX = 'codio-manifest-v1\n'
/** Reed-Solomon over GF(2^8) allows at most 256 shards per FEC group. */
export const MAX_FEC_SHARDS = 256
/** Upper bound on the media type length, so it fits any HTTP header limit. */
export const MAX_MEDIA_TYPE_LENGTH = 255
