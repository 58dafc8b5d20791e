/**
 * @packageDocumentation
 * The tracker's shared parts: gossip messages and their NATS subjects, peer scoring
 * (reputation, download speed, online), peer selection, the Redis state (`TrackerStore`), the
 * node-side `GossipPublisher` and the edge-side `TrackerClient`.
 *
 * @example
 * ```ts
 * import { GossipPublisher, TrackerClient } from '@codio/tracker'
 * // on a node
 * const gossip = new GossipPublisher({ nats: natsUrl, privateKey, roles: ['edge'], availability, metrics })
 * gossip.start()
 * // on an edge, before the DHT
 * const peers = await new TrackerClient({ baseUrl: trackerUrl }).trySelectPeers(contentId, 8, { requesterPeerId: peerId })
 * if (peers === undefined) { ... fall back to the DHT ... }
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export { isContentId, isMultiaddr, isPeerId, isRole } from './ids.js'
export { bitfieldLength, bitfieldProblem, countChunks, emptyBitfield, fullBitfield, hasChunk, holdingBitfield, setChunk } from './bitfield.js'
export { addSpeedSample, downloadSpeed, isOnline, reliability, reputation, uploadSuccessRatio, uptimeFactor, type Reliability, type ReputationInput } from './scoring.js'
export type { AvailabilityEntry, AvailabilityQuery, AvailabilityUpdate, Holding, MetricsUpdate, Observation, PeerMetrics, SelectedPeer, SelectRequest } from './types.js'
export { availabilitySubject, gossipWildcard, metricsSubject, parseGossipSubject, type GossipKind } from './subjects.js'
export {
  decodeAvailability, decodeGossip, decodeMetrics, encodeAvailability, encodeMetrics, validateAvailability, validateMetrics,
  type AvailabilityInit, type Gossip, type HoldingInit, type MetricsInit
} from './gossip-codec.js'
export { holderScore, rankHolders, tieBreak, validateSelectRequest, type HolderState, type RankedHolder } from './selection.js'
export { createTrackerRedis, redisReady, type TrackerRedisOptions } from './redis.js'
export { TrackerStore, type TrackerStoreInit } from './store/tracker-store.js'
export { GOSSIP_SIGNATURE_HEADER, signGossip, verifyGossip } from './gossip-signature.js'
export { GossipPublisher, type GossipPublisherInit, type NodeMetrics, type PublisherLog, type PublisherStats } from './publisher.js'
export { TrackerClient, fromConnectError, type CallInit, type SelectOptions, type TrackerClientInit } from './client.js'
export {
  availabilityEntryFromProto, availabilityEntryToProto, peerCandidateFromProto, peerCandidateToProto, peerMetricsFromProto, peerMetricsToProto
} from './proto-convert.js'
export { keepNatsConnection, type NatsKeeper, type NatsKeeperInit } from './nats-connect.js'
export { natsAuthOptions, type NatsAuthInit } from './nats-auth.js'
