import { chunkCid, chunkStream, encodeManifest, manifestCid, MAX_CHUNK_SIZE, MAX_MANIFEST_BYTES, maxManifestChunks, MIN_CHUNK_SIZE, signManifest } from '@codio/content'
import { assertIngestFecCode, FecEncoder, fecGroupCount, formatFecSpec, type FecCode } from '@codio/fec'
import type { FecParams } from '@codio/content'
import type { BlockStore } from '@codio/store'
import type { PublisherKeyPair } from '@codio/signing'
import type { CID } from 'multiformats/cid'
import { BadRequestError, UploadIncompleteError, UploadTooLargeError } from './errors.js'
import { tracer, withSpan } from '@codio/tracing'

const ingestTracer = tracer('@codio/origin')

/** Why an empty upload is refused. */
const EMPTY_UPLOAD = 'empty upload: a content of 0 bytes has no chunks, so there is nothing to store or serve'

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
  /** Aborted when the client is gone: the ingest stops (chunking, hashing, coding) and keeps nothing. */
  signal?: AbortSignal
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
 * Limits, each refused before the body is read when Content-Length shows it: a chunk size from
 * `MIN_CHUNK_SIZE` to `MAX_CHUNK_SIZE`; an FEC code within `assertIngestFecCode` (k + m ≤ 64,
 * m ≤ k, (k + m) × chunk size ≤ 128 MiB); at least 1 byte (a content of 0 bytes has no chunks);
 * at most `maxUploadBytes`; at most `maxManifestChunks(fec)` chunks, so the manifest fits
 * `MAX_MANIFEST_BYTES`, what the chunk exchange carries.
 *
 * @throws UploadTooLargeError (size or manifest limit), UploadIncompleteError (short body, client
 *   gone or `signal` aborted), BadRequestError (chunk size, empty upload), InvalidFecParamsError
 */
export async function ingest (init: IngestInit, req: IngestRequest): Promise<IngestResult> {
  // one span for the whole upload (chunking, parity, staging, signing, commit), not one per chunk
  return await withSpan(ingestTracer, 'origin.ingest', { attributes: { 'codio.ingest.chunk_size': req.chunkSize, 'codio.ingest.fec': formatFecSpec(req.fec), 'http.request.body.size': req.expectedSize ?? undefined } }, async span => {
    const result = await ingestContent(init, req)
    span.setAttributes({ 'codio.content.id': result.contentId.toString(), 'codio.content.size': result.size, 'codio.content.chunks': result.chunks, 'codio.content.parity_chunks': result.parityChunks })
    return result
  })
}

async function ingestContent (init: IngestInit, req: IngestRequest): Promise<IngestResult> {
  if (!Number.isInteger(req.chunkSize) || req.chunkSize < MIN_CHUNK_SIZE || req.chunkSize > MAX_CHUNK_SIZE) {
    throw new BadRequestError(`chunk size must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} bytes`)
  }
  if (req.fec != null) assertIngestFecCode(req.fec, req.chunkSize)
  const maxChunks = maxManifestChunks(req.fec)
  const manifestLimit = (chunks: string): string => `${chunks}; a manifest holds at most ${maxChunks} chunks with FEC ${formatFecSpec(req.fec)} (MAX_MANIFEST_BYTES = ${MAX_MANIFEST_BYTES} bytes, what the chunk exchange carries), so at most ${maxChunks * req.chunkSize} bytes at chunk size ${req.chunkSize}: raise the chunk size`
  if (req.expectedSize === 0) throw new BadRequestError(EMPTY_UPLOAD)
  if (req.expectedSize != null && req.expectedSize > init.maxUploadBytes) {
    throw new UploadTooLargeError(`upload of ${req.expectedSize} bytes exceeds the limit of ${init.maxUploadBytes} bytes`)
  }
  if (req.expectedSize != null && Math.ceil(req.expectedSize / req.chunkSize) > maxChunks) {
    throw new UploadTooLargeError(manifestLimit(`upload of ${req.expectedSize} bytes makes ${Math.ceil(req.expectedSize / req.chunkSize)} chunks`))
  }
  const gone = (): void => {
    if (req.signal?.aborted === true) throw new UploadIncompleteError('the client went away before the upload finished')
  }
  gone()
  const staging = await init.store.staging()
  // a group's parity is coded and written while the next group streams in (at most one
  // group behind, so memory stays at about two groups)
  let parityJob: Promise<void> = Promise.resolve()
  try {
    let size = 0
    const chunks: CID[] = []
    const encoder = req.fec == null ? undefined : new FecEncoder(req.fec)
    const groups: FecParams['groups'] = []
    let groupsStarted = 0
    const stageParity = (coded: Promise<Uint8Array[] | undefined>): Promise<void> => {
      const previous = parityJob
      const g = groupsStarted++
      const job = (async () => {
        const parity = await coded
        if (parity == null) return
        gone()
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
        gone()
        size += piece.byteLength
        if (size > init.maxUploadBytes) throw new UploadTooLargeError(`upload exceeds the limit of ${init.maxUploadBytes} bytes`)
        yield piece
      }
    }
    for await (const chunk of chunkStream(limited(), req.chunkSize)) {
      gone()
      if (chunks.length === maxChunks) throw new UploadTooLargeError(manifestLimit('upload makes more chunks'))
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
    if (size === 0) throw new BadRequestError(EMPTY_UPLOAD)
    gone()
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
    // no parity write may land in the staging area while or after it is removed
    await parityJob.catch(() => {})
    await staging.abort()
    if (err.code === 'ECONNRESET' || err.message === 'aborted') {
      throw new UploadIncompleteError('the client went away before the upload finished', { cause: err })
    }
    throw err
  }
}
