import { chunkCid, chunkStream, encodeManifest, manifestCid, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, signManifest } from '@codio/content'
import { FecEncoder, fecGroupCount, type FecCode } from '@codio/fec'
import type { FecParams } from '@codio/content'
import type { BlockStore } from '@codio/store'
import type { PublisherKeyPair } from '@codio/signing'
import type { CID } from 'multiformats/cid'
import { BadRequestError, UploadIncompleteError, UploadTooLargeError } from './errors.js'

/** Largest FEC group (k × chunk size, bytes) an ingest accepts: it keeps one group in memory. */
export const MAX_FEC_GROUP_BYTES = 256 * 1024 * 1024

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
  /** Reed-Solomon k+m to protect the content with; none when undefined. */
  fec?: FecCode
}

export interface IngestResult {
  contentId: CID
  size: number
  chunks: number
  /** parity chunks stored (0 without FEC) */
  parityChunks: number
}

/**
 * Stream an upload into the store: cut it into chunks, hash each one (CIDv1 raw sha2-256),
 * stage it, then sign and stage the manifest and commit everything at once. With `fec`, every
 * k chunks are Reed-Solomon coded as they arrive (off the JavaScript thread) and their m parity
 * chunks staged too, named in the manifest's `fec.groups`. Memory stays at about one chunk
 * (one FEC group with `fec`) whatever the upload's size. If anything fails — the client goes away, the
 * upload exceeds the limit or its Content-Length — the staging area is removed and nothing
 * becomes visible.
 *
 * @throws UploadTooLargeError, UploadIncompleteError, BadRequestError
 */
export async function ingest (init: IngestInit, req: IngestRequest): Promise<IngestResult> {
  if (!Number.isInteger(req.chunkSize) || req.chunkSize < MIN_CHUNK_SIZE || req.chunkSize > MAX_CHUNK_SIZE) {
    throw new BadRequestError(`chunk size must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} bytes`)
  }
  if (req.fec != null && req.fec.dataShards * req.chunkSize > MAX_FEC_GROUP_BYTES) {
    throw new BadRequestError(`an FEC group of ${req.fec.dataShards} chunks of ${req.chunkSize} bytes exceeds ${MAX_FEC_GROUP_BYTES} bytes (ingest holds one group in memory): lower k or the chunk size`)
  }
  if (req.expectedSize != null && req.expectedSize > init.maxUploadBytes) {
    throw new UploadTooLargeError(`upload of ${req.expectedSize} bytes exceeds the limit of ${init.maxUploadBytes} bytes`)
  }
  const staging = await init.store.staging()
  try {
    let size = 0
    const chunks: CID[] = []
    const encoder = req.fec == null ? undefined : new FecEncoder(req.fec)
    const groups: FecParams['groups'] = []
    // a group's parity is coded and written while the next group streams in (at most one
    // group behind, so memory stays at about two groups)
    let parityJob: Promise<void> = Promise.resolve()
    let groupsStarted = 0
    const stageParity = (coded: Promise<Uint8Array[] | undefined>): Promise<void> => {
      const previous = parityJob
      const g = groupsStarted++
      const job = (async () => {
        const parity = await coded
        if (parity == null) return
        const cids = parity.map(chunkCid)
        groups[g] = { parity: cids }
        await Promise.all(parity.map(async (p, j) => await staging.put(cids[j], p)))
      })()
      parityJob = Promise.all([previous, job]).then(() => {})
      parityJob.catch(() => {})
      return previous
    }
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
      if (encoder != null && (chunks.length % req.fec!.dataShards === 0)) await stageParity(encoder.push(chunk))
      else if (encoder != null) await encoder.push(chunk)
    }
    if (encoder != null) {
      if (chunks.length % req.fec!.dataShards !== 0) await stageParity(encoder.flush())
      await parityJob
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
      ...(req.fec == null || chunks.length === 0 ? {} : { fec: { ...req.fec, groups } }),
      createdAt: Date.now(),
      publisher: init.publisher.publicKey
    }, init.publisher)
    const bytes = encodeManifest(manifest)
    const contentId = manifestCid(bytes)
    await staging.put(contentId, bytes)
    await staging.commit()
    if (req.fec != null && groups.length !== fecGroupCount(chunks.length, req.fec.dataShards)) throw new Error('FEC groups out of step with chunks')
    return { contentId, size, chunks: chunks.length, parityChunks: groups.length * (req.fec?.parityShards ?? 0) }
  } catch (err: any) {
    await staging.abort()
    if (err.code === 'ECONNRESET' || err.message === 'aborted') {
      throw new UploadIncompleteError('the client went away before the upload finished', { cause: err })
    }
    throw err
  }
}
