/**
 * @packageDocumentation
 * A durable on-disk block store, content-addressed by CID, with atomic writes, staging areas
 * for all-or-nothing ingest, and a durable list of whole contents held.
 *
 * @example
 * ```ts
 * import { BlockStore } from '@codio/store'
 *
 * const store = await BlockStore.open('/var/lib/codio/store')
 * const ingest = await store.staging()
 * for (const [cid, bytes] of verifiedChunks) await ingest.put(cid, bytes)
 * await ingest.put(contentId, manifestBytes)
 * await ingest.commit()            // every block visible at once
 * await store.addContent(contentId)
 * await store.get(cid)             // Uint8Array | undefined
 * ```
 */
export { BlockStore, type BlockStoreStats } from './block-store.js'
export type { StagingArea } from './staging-area.js'
export { StoreIOError, StagingClosedError, StoreClosedError, InvalidBlockIdError } from './errors.js'
export { MAX_KEY_LENGTH } from './layout.js'
