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
/**
 * Largest encoded manifest (bytes) a node writes, sends or accepts: manifests travel as one
 * block of the chunk exchange, so this is also a wire limit (`@codio/exchange` derives its
 * message limit from it and {@link MAX_CHUNK_SIZE}). 8 MiB hold about 200,000 CIDs.
 */
export const MAX_MANIFEST_BYTES = 8_388_608
/** Bytes one chunk CID takes in an encoded manifest: tag 42, byte-string header, 0x00, 36-byte CIDv1. */
export const MANIFEST_BYTES_PER_CID = 41
/**
 * Bound on a manifest's bytes besides its CIDs: version, size, media type (≤ 255), chunk size,
 * creation time, publisher key, signature, map and array headers.
 */
export const MANIFEST_FIXED_BYTES = 1024
/** Bound on the bytes each FEC group adds besides its parity CIDs (`{ parity: [...] }` headers). */
export const MANIFEST_BYTES_PER_FEC_GROUP = 12
