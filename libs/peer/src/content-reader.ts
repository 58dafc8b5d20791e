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
 * Store reads of a local content started ahead of the chunk being yielded: the next chunk is
 * read while the reader writes this one out (one read after another, each waiting for the
 * write, held a cache hit to ~300 MB/s with a mostly idle CPU). At most this many chunks wait
 * in memory per reader.
 */
export const STORE_READ_AHEAD = 4

/**
 * The bytes `range.start..range.end` (inclusive) of a content, in order, as soon as each
 * chunk is verified and stored: a reader never waits for chunks after the one it needs, so
 * time to first byte is one chunk's fetch. A chunk the download still holds in memory
 * (`Download.read`) is streamed from there, the others are read from the store. Without a
 * download every chunk must be local, and {@link STORE_READ_AHEAD} are read ahead.
 */
export async function * readRange (manifest: Manifest, store: BlockStore, range: ByteRange, download?: Download): AsyncGenerator<Uint8Array> {
  if (manifest.size === 0) return
  const { first, last } = chunksForRange(manifest, range.start, range.end)
  const reads: Array<Promise<Uint8Array | undefined>> = []
  let next = first
  for (let i = first; i <= last; i++) {
    // a download's chunks are taken one at a time: it hands its in-memory ones over in order
    while (download == null && next <= last && next <= i + STORE_READ_AHEAD) {
      const read = store.get(manifest.chunks[next++])
      // a failure surfaces when its chunk's turn comes (or never, if the reader stops first)
      read.catch(() => {})
      reads.push(read)
    }
    const cid = manifest.chunks[i]
    const bytes = download == null ? await reads.shift() : (await download.read(i)) ?? await store.get(cid)
    if (bytes == null) throw new BlockMissingError(`chunk ${i} (${cid}) is not in the store`)
    const span = chunkSpan(manifest, i)
    const from = Math.max(range.start, span.start) - span.start
    const to = Math.min(range.end + 1, span.end) - span.start
    yield from === 0 && to === bytes.byteLength ? bytes : bytes.subarray(from, to)
  }
}
