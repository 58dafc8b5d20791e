/**
 * @packageDocumentation
 * Codio content addressing: fixed-size chunking, chunk IDs (`CIDv1(raw, sha2-256)`),
 * signed manifests encoded as canonical DAG-CBOR, and content IDs
 * (`CIDv1(dag-cbor, sha2-256(manifest bytes))`), per the multiformats CID and DAG-CBOR specs.
 *
 * @example
 * ```ts
 * import { chunkStream, chunkCid, signManifest, encodeManifest, manifestCid, DEFAULT_CHUNK_SIZE } from '@codio/content'
 *
 * const chunks = []
 * let size = 0
 * for await (const chunk of chunkStream(createReadStream(path))) {
 *   chunks.push(chunkCid(chunk))
 *   size += chunk.length
 * }
 * const manifest = await signManifest({
 *   version: 1, size, mediaType: 'video/mp4', chunkSize: DEFAULT_CHUNK_SIZE, chunks,
 *   createdAt: Date.now(), publisher: kp.publicKey
 * }, kp)
 * const bytes = encodeManifest(manifest)
 * const contentId = manifestCid(bytes) // bafyrei…
 * ```
 */
export {
  DEFAULT_CHUNK_SIZE, MIN_CHUNK_SIZE, MAX_CHUNK_SIZE, RAW_CODEC, DAG_CBOR_CODEC, SHA2_256_CODE,
  MANIFEST_VERSION, MANIFEST_SIGNING_PREFIX, MAX_FEC_SHARDS, MAX_MEDIA_TYPE_LENGTH, MAX_MANIFEST_BYTES,
  MANIFEST_BYTES_PER_CID, MANIFEST_FIXED_BYTES, MANIFEST_BYTES_PER_FEC_GROUP
} from './constants.js'
export {
  InvalidChunkSizeError, ManifestDecodeError, InvalidManifestError, UntrustedPublisherError,
  InvalidSignatureError, InvalidCidError, InvalidRangeError
} from './errors.js'
export { chunkCid, verifyChunk, parseChunkId } from './chunk-cid.js'
export { sha256, sha256Async, OFF_THREAD_HASH_BYTES } from './sha256.js'
export { manifestCid, parseContentId } from './content-id.js'
export { chunkStream, assertChunkSize } from './chunk-stream.js'
export { chunkCount, type FecGroup, type FecParams, type UnsignedManifest, type Manifest } from './manifest.js'
export { encodeManifest, manifestSigningBytes } from './encode-manifest.js'
export { manifestSizeBound, maxManifestChunks } from './manifest-size.js'
export { decodeManifest } from './decode-manifest.js'
export { signManifest } from './sign-manifest.js'
export { verifyManifest } from './verify-manifest.js'
export { chunkSpan, chunksForRange } from './ranges.js'
export { CID } from 'multiformats/cid'
