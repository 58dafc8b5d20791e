import { chunkCid, chunkStream, encodeManifest, manifestCid, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, signManifest } from '@codio/content'
import type { BlockStore } from '@codio/store'
import type { PublisherKeyPair } from '@codio/signing'
import type { CID } from 'multiformats/cid'
import { BadRequestError, UploadIncompleteError, UploadTooLargeError } from './errors.js'

export interface IngestInit {
  store: BlockStore
  publisher: PublisherKeyPair
  maxUploadBytes: number
}

export interface IngestRequest {
  body: AsyncIterable<Uint8Array>
  mediaType: string
  chunkSize: number
  /** Announced length, when the client sent Content-Length. */
  expectedSize?: number
}

export interface IngestResult {
  contentId: CID
  size: number
  chunks: number
}

/**
 * Stream an upload into the store: cut it into chunks, hash each one (CIDv1 raw sha2-256),
 * stage it, then sign and stage the manifest and commit everything at once. Memory stays at
 * about one chunk whatever the upload's size. If anything fails — the client goes away, the
 * upload exceeds the limit or its Content-Length — the staging area is removed and nothing
 * becomes visible.
 *
 * @throws UploadTooLargeError, UploadIncompleteError, BadRequestError
 */
export async function ingest (init: IngestInit, req: IngestRequest): Promise<IngestResult> {
  if (!Number.isInteger(req.chunkSize) || req.chunkSize < MIN_CHUNK_SIZE || req.chunkSize > MAX_CHUNK_SIZE) {
    throw new BadRequestError(`chunk size must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} bytes`)
  }
  if (req.expectedSize != null && req.expectedSize > init.maxUploadBytes) {
    throw new UploadTooLargeError(`upload of ${req.expectedSize} bytes exceeds the limit of ${init.maxUploadBytes} bytes`)
  }
  const staging = await init.store.staging()
  try {
    let size = 0
    const chunks: CID[] = []
    const limited = async function * (): AsyncGenerator<Uint8Array> {
      for await (const piece of req.body) {
        size += piece.byteLength
        if (size > init.maxUploadBytes) throw new UploadTooLargeError(`upload exceeds the limit of ${init.maxUploadBytes} bytes`)
        yield piece
      }
    }
    for await (const chunk of chunkStream(limited(), req.chunkSize)) {
      const cid = chunkCid(chunk)
      await staging.put(cid, chunk)
      chunks.push(cid)
    }
    if (req.expectedSize != null && size !== req.expectedSize) {
      throw new UploadIncompleteError(`upload ended after ${size} of ${req.expectedSize} bytes`)
    }
    const manifest = await signManifest({
      version: 1,
      size,
      mediaType: req.mediaType,
      chunkSize: req.chunkSize,
      chunks,
      createdAt: Date.now(),
      publisher: init.publisher.publicKey
    }, init.publisher)
    const bytes = encodeManifest(manifest)
    const contentId = manifestCid(bytes)
    await staging.put(contentId, bytes)
    await staging.commit()
    return { contentId, size, chunks: chunks.length }
  } catch (err: any) {
    await staging.abort()
    if (err.code === 'ECONNRESET' || err.message === 'aborted') {
      throw new UploadIncompleteError('the client went away before the upload finished', { cause: err })
    }
    throw err
  }
}
