/**
 * @packageDocumentation
 * The Codio origin: ingest (`PUT /content`), durable store, seeds the swarm.
 *
 * @example
 * ```ts
 * import { createOrigin, originConfigSchema } from '@codio/origin'
 * const origin = await createOrigin(originConfigSchema.parse({ http: { port: 0 } }), log, '0.1.0')
 * await origin.start()
 * ```
 */
export { createOrigin, type Origin } from './origin.js'
export { originConfigSchema, type OriginConfig } from './config.js'
export { ingest, type IngestInit, type IngestRequest, type IngestResult } from './ingest.js'
export * from './errors.js'
