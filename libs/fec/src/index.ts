/**
 * @packageDocumentation
 * Forward error correction for Codio content: Reed-Solomon over GF(2^8) (the Backblaze /
 * klauspost construction, computed by `@codio/native`) applied to groups of k consecutive data
 * chunks, each protected by m parity chunks named in the manifest (`fec.groups[g].parity`).
 * Any k of a group's k + m chunks rebuild it.
 *
 * @example
 * ```ts
 * import { FecEncoder, fecPlan } from '@codio/fec'
 * const enc = new FecEncoder({ dataShards: 10, parityShards: 4 })
 * for await (const chunk of chunkStream(body)) {
 *   const parity = await enc.push(chunk) // 4 shards after every 10th chunk
 * }
 * const tail = await enc.flush()          // parity of the last, shorter group
 *
 * const plan = fecPlan(manifest)           // at a downloader
 * const chunks = await plan.rebuild(g, shardsWithHoles)
 * ```
 */
export { DEFAULT_DATA_SHARDS, DEFAULT_PARITY_SHARDS, MAX_SHARDS, MAX_INGEST_SHARDS, MAX_PARITY_RATIO, MAX_FEC_GROUP_BYTES } from './constants.js'
export { InvalidFecParamsError, FecRebuildError } from './errors.js'
export { assertFecCode, assertIngestFecCode, parseFecSpec, formatFecSpec, type FecCode } from './params.js'
export { fecGroupCount, fecGroupLayout, type FecGroupLayout } from './layout.js'
export { FecEncoder } from './encoder.js'
export { fecPlan, type FecPlan } from './plan.js'
