import { MANIFEST_BYTES_PER_CID, MANIFEST_BYTES_PER_FEC_GROUP, MANIFEST_FIXED_BYTES, MAX_MANIFEST_BYTES } from './constants.js'

/**
 * An upper bound on the encoded size (bytes) of a manifest of `chunks` chunk CIDs, protected by
 * `fec` (k data + m parity shards per group of k chunks) when given; exact to within
 * {@link MANIFEST_FIXED_BYTES}. Lets an ingest refuse, before or while reading an upload, a
 * content whose manifest would exceed `MAX_MANIFEST_BYTES`.
 */
export function manifestSizeBound (chunks: number, fec?: { dataShards: number, parityShards: number }): number {
  let bytes = MANIFEST_FIXED_BYTES + chunks * MANIFEST_BYTES_PER_CID
  if (fec != null && chunks > 0) {
    const groups = Math.ceil(chunks / fec.dataShards)
    bytes += groups * (MANIFEST_BYTES_PER_FEC_GROUP + fec.parityShards * MANIFEST_BYTES_PER_CID)
  }
  return bytes
}

/**
 * The most chunks a content may have so that its manifest (with `fec`, its parity CIDs too)
 * stays within `MAX_MANIFEST_BYTES` by {@link manifestSizeBound}.
 */
export function maxManifestChunks (fec?: { dataShards: number, parityShards: number }): number {
  let lo = 0
  let hi = Math.floor(MAX_MANIFEST_BYTES / MANIFEST_BYTES_PER_CID)
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (manifestSizeBound(mid, fec) <= MAX_MANIFEST_BYTES) lo = mid
    else hi = mid - 1
  }
  return lo
}
