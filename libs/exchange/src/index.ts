/**
 * @packageDocumentation
 * Block exchange between Codio peers on `/codio/chunk/1.0.0`: request a chunk or manifest by
 * CID, receive its bytes verified against the CID, or a typed refusal.
 *
 * @example
 * ```ts
 * import { chunkExchange } from '@codio/exchange'
 * const node = await createLibp2p({ ..., services: { exchange: chunkExchange({ blocks: store }) } })
 * const bytes = await node.services.exchange.fetch(peerId, cid)
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export { DEFAULT_PEER_LIMITS, peerLimits, type PeerLimits, type RefusalReason } from './limits.js'
export { blockMatchesCid, blockIdProblem, contentIdProblem } from './verify.js'
/** @internal the frame reader of block and session streams, exported for the fuzz targets */
export { frameLengthDecoder, lengthLength, messageStream, readMessage } from './wire.js'
export { raceSignal } from './race-signal.js'
export { BulkChannel, BULK_ALPN, BULK_CONNECT_TIMEOUT_MS, BULK_FALLBACK_REASONS, BULK_PROTOCOL, BULK_RETRY_MS, MAX_BULK_CONNECTIONS, type BulkChannelInit, type BulkFallbackReason } from './bulk-channel.js'
export { ChunkExchange, chunkExchange, type BlockSource, type ChunkExchangeComponents, type ChunkExchangeInit, type FetchOptions, type PeerTransferStats } from './chunk-exchange.js'
export { SwarmSession, SwarmSessions, swarmSessions, type PexEntry, type SessionEvents, type SessionHost, type SwarmSessionsComponents, type SwarmSessionsInit } from './swarm-session.js'
