import { chunkSpan, chunksForRange, type Manifest } from '@codio/content'
import type { Download } from '@codio/swarm'
import type { BlockStore } from '@codio/store'

/** Bytes `start..end` of a content, both inclusive (as an HTTP `Range` names them). */
export interface ByteRange {
  start: number
  end: number
}

/** A missing block where the store was expected to hold one. */
export class BlockMissingError extends Error {
  override readonly name = 'BlockMissingError'
}

/**
 * The bytes `range.start..range.end` (inclusive) of a content, in order, as soon as each
 * chunk is verified and stored: a reader never waits for chunks after the one it needs, so
 * time to first byte is one chunk's fetch. A chunk the download still holds in memory
 * (`Download.read`) is streamed from there, the others are read from the store. Without a
 * download every chunk must be local.
 */
export async function * readRange (manifest: Manifest, store: BlockStore, range: ByteRange, download?: Download): AsyncGenerator<Uint8Array> {
  if (manifest.size === 0) return
  const { first, last } = chunksForRange(manifest, range.start, range.end)
  for (let i = first; i <= last; i++) {
    const cid = manifest.chunks[i]
    const bytes = (await download?.read(i)) ?? await store.get(cid)
    if (bytes == null) throw new BlockMissingError(`chunk ${i} (${cid}) is not in the store`)
    const span = chunkSpan(manifest, i)
    const from = Math.max(range.start, span.start) - span.start
    const to = Math.min(range.end + 1, span.end) - span.start
    yield from === 0 && to === bytes.byteLength ? bytes : bytes.subarray(from, to)
  }
}
