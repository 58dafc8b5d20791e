import type { UnsignedManifest } from '@codio/content'
import { chunkCount } from '@codio/content'

/**
 * Where one FEC group sits in a content. Group `g` protects data chunks
 * `first = g·k … last = min((g+1)·k, n) − 1` with a (k, m) Reed-Solomon code whose shards are
 * all `shardSize` bytes: the length of the group's first chunk, which every chunk of the group
 * has except the content's last chunk, zero-padded to `shardSize` for coding. The last group
 * may hold fewer than k data chunks (`dataCount < k`): it is a shortened code, the absent data
 * shards being all-zero shards that are never stored nor sent. (Coding it as a (dataCount, m)
 * code instead would be degenerate for one chunk: every parity shard of a systematic
 * Vandermonde code with k = 1 is a copy of the data.)
 */
export interface FecGroupLayout {
  group: number
  first: number
  last: number
  /** data chunks of this group: `last − first + 1`, ≤ k (the rest are implicit zero shards) */
  dataCount: number
  /** bytes per shard (data shards padded to it; parity shards are exactly this long) */
  shardSize: number
}

/** Number of FEC groups for `chunks` data chunks and k data shards per group: `ceil(chunks / k)`. */
export function fecGroupCount (chunks: number, dataShards: number): number {
  return Math.ceil(chunks / dataShards)
}

/** Layout of group `g` of a content of `size` bytes cut into `chunkSize` chunks, k = `dataShards`. */
export function fecGroupLayout (m: Pick<UnsignedManifest, 'size' | 'chunkSize'>, dataShards: number, group: number): FecGroupLayout {
  const n = chunkCount(m)
  const first = group * dataShards
  if (!Number.isInteger(group) || group < 0 || first >= n) throw new RangeError(`FEC group ${group} outside [0, ${fecGroupCount(n, dataShards)})`)
  const last = Math.min(n, first + dataShards) - 1
  return { group, first, last, dataCount: last - first + 1, shardSize: Math.min(m.chunkSize, m.size - first * m.chunkSize) }
}
