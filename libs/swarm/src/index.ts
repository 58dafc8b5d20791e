/**
 * @packageDocumentation
 * The swarm download engine: pulls the chunks of one content from many peers at once,
 * verified, with failover, in the order a streaming reader needs them.
 *
 * @example
 * ```ts
 * import { Download } from '@codio/swarm'
 * const dl = new Download({ chunks: manifest.chunks, fetcher: exchange, sink: store })
 * for (const p of providers) dl.addPeer(p)
 * dl.noMorePeers()
 * await dl.start()
 * await dl.chunk(0)   // first chunk stored
 * await dl.done       // all stored
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export { Download, type BlockFetcher, type ChunkSink, type DownloadInit, type DownloadProgress, type FecRepair } from './download.js'
export { Bitfield } from '@codio/bitfield'
export { PiecePicker, type PickStrategy } from './picker.js'
export { SuperSeeder, DEFAULT_SUPER_SEED_REVEALS, DEFAULT_SUPER_SEED_COPIES, DEFAULT_SUPER_SEED_ISOLATION_MS, type SuperSeederInit } from './super-seed.js'
