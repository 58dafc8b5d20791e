import { chunkSpan, verifyChunk, type Manifest } from '@codio/content'
import { rsReconstruct } from '@codio/native'
import type { CID } from 'multiformats/cid'
import { FecRebuildError } from './errors.js'
import { fecGroupCount, fecGroupLayout, type FecGroupLayout } from './layout.js'
import { padded } from './encoder.js'
import type { FecCode } from './params.js'

type FecManifest = Pick<Manifest, 'size' | 'chunkSize' | 'chunks' | 'fec'>

/**
 * How to repair the data chunks of one content from its FEC groups. A download uses it to
 * know which chunks share a group with a missing one, which parity chunks to fetch, and to
 * rebuild from any `dataCount` verified shards of a group.
 */
export interface FecPlan {
  readonly code: FecCode
  readonly groupCount: number
  /** The group that holds data chunk `chunk`. */
  groupOf(chunk: number): number
  layout(group: number): FecGroupLayout
  /** The group's parity chunk CIDs, in shard order (shard `dataCount + j` is `parity(g)[j]`). */
  parity(group: number): CID[]
  /**
   * Rebuild every data chunk of `group` from any `dataCount` of its shards.
   *
   * @param shards - `dataCount` data chunks (each at its true length) then m parity shards, in
   *   shard order; `undefined` where a shard is missing. Present shards must already be verified.
   * @returns the group's data chunks at their true lengths, in order; rebuilt ones are verified
   *   against their CIDs (SHA-256)
   * @throws FecRebuildError fewer than `dataCount` shards, a shard of the wrong length, or a
   *   rebuilt chunk that does not match its CID
   */
  rebuild(group: number, shards: Array<Uint8Array | undefined>): Promise<Uint8Array[]>
}

/** The repair plan of a manifest, or `undefined` when it carries no FEC. */
export function fecPlan (manifest: FecManifest): FecPlan | undefined {
  const fec = manifest.fec
  if (fec == null) return undefined
  const k = fec.dataShards
  const code = { dataShards: k, parityShards: fec.parityShards }
  const groupCount = fecGroupCount(manifest.chunks.length, k)
  return {
    code,
    groupCount,
    groupOf: chunk => Math.floor(chunk / k),
    layout: group => fecGroupLayout(manifest, k, group),
    parity: group => fec.groups[group].parity,
    rebuild: async (group, shards) => await rebuildGroup(manifest, code, fecGroupLayout(manifest, k, group), shards)
  }
}

async function rebuildGroup (manifest: FecManifest, code: FecCode, layout: FecGroupLayout, shards: Array<Uint8Array | undefined>): Promise<Uint8Array[]> {
  const { first, dataCount, shardSize } = layout
  const total = dataCount + code.parityShards
  if (shards.length !== total) throw new FecRebuildError(`group ${layout.group} has ${total} shards, got ${shards.length}`)
  const lengths = Array.from({ length: dataCount }, (_, i) => {
    const span = chunkSpan(manifest, first + i)
    return span.end - span.start
  })
  let present = 0
  const input: Array<Buffer | null> = shards.map((s, i) => {
    if (s == null) return null
    const want = i < dataCount ? lengths[i] : shardSize
    if (s.byteLength !== want) throw new FecRebuildError(`group ${layout.group} shard ${i} is ${s.byteLength} bytes, expected ${want}`)
    present++
    return padded(s, shardSize)
  })
  if (present < dataCount) throw new FecRebuildError(`group ${layout.group} needs ${dataCount} of its ${total} shards to rebuild, has ${present}`)
  // a shortened last group: its absent data shards are known zeros
  const zeros = Array.from({ length: code.dataShards - dataCount }, () => Buffer.alloc(shardSize))
  let data: Buffer[]
  try {
    data = await rsReconstruct([...input.slice(0, dataCount), ...zeros, ...input.slice(dataCount)], code.dataShards)
  } catch (cause) {
    throw new FecRebuildError(`group ${layout.group}: ${(cause as Error).message}`, { cause })
  }
  return data.slice(0, dataCount).map((d, i) => {
    const chunk = d.byteLength === lengths[i] ? d : d.subarray(0, lengths[i])
    if (shards[i] == null && !verifyChunk(manifest.chunks[first + i], chunk)) {
      throw new FecRebuildError(`group ${layout.group}: rebuilt chunk ${first + i} does not match ${manifest.chunks[first + i]} (parity does not belong to this content)`)
    }
    return shards[i] ?? chunk
  })
}
