/**
 * @packageDocumentation
 * The Codio edge: `GET`/`HEAD /content/<cid>` over HTTP, served from a verified swarm
 * download while it runs, then from its cache; it provides what it holds.
 *
 * @example
 * ```ts
 * import { createEdge, edgeConfigSchema } from '@codio/edge'
 * const edge = await createEdge(edgeConfigSchema.parse({ p2p: { bootstrap: [relay] }, trust: { publisherKeys: [key] } }), log, '0.1.0')
 * await edge.start()
 * ```
 */
export { createEdge, type Edge } from './edge.js'
export { edgeConfigSchema, type EdgeConfig } from './config.js'
export { interpretRange, type ByteRange, type RangeRequest } from './ranges.js'
