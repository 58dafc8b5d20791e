/**
 * @packageDocumentation
 * The swarm download engine: pulls the chunks of one content from many peers at once,
 * verified, with failover, in the order a streaming reader needs them.
 *
 * @example
 * ```ts
 * import { Download } from '@codio/swarm'
 * // fetcher: a BlockFetcher, whose fetch resolves to a typed FetchResult (libs/peer's
 * // exchangeFetcher adapts a ChunkExchange); sink: a ChunkSink such as a BlockStore
 * const dl = new Download({ chunks: manifest.chunks, fetcher, sink: store })
 * for (const p of providers) dl.addPeer(p)
 * dl.noMorePeers()
 * await dl.start()
 * await dl.chunk(0)   // first chunk stored
 * await dl.done       // all stored
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export { Download } from './download.js'
export type { DownloadInit } from './download-init.js'
export type { BlockFetcher, ChunkSink, FetchFailure, FetchResult } from './fetcher.js'
export type { FecRepair } from './fec-repair.js'
export type { DownloadProgress } from './progress.js'
export { Bitfield } from '@codio/bitfield'
export { PiecePicker, type PickStrategy } from './picker.js'
export { SuperSeeder, DEFAULT_SUPER_SEED_REVEALS, DEFAULT_SUPER_SEED_COPIES, DEFAULT_SUPER_SEED_ISOLATION_MS, type SuperSeederInit } from './super-seed.js'
