/**
 * @packageDocumentation
 * The tracker's shared parts: gossip messages and their NATS subjects, peer scoring
 * (reputation, download speed, online), peer selection, the Redis state (`TrackerStore`), the
 * node-side `GossipPublisher` and the edge-side `TrackerClient`; the fleet control plane's
 * Redis state (`ControlStore`), the node-side `ControlWatcher` and `createControlClient`.
 *
 * @example
 * ```ts
 * import { ControlWatcher, GossipPublisher, TrackerClient } from '@codio/tracker'
 * // on a node
 * const gossip = new GossipPublisher({ nats: natsUrl, privateKey, roles: ['edge'], availability, metrics })
 * gossip.start()
 * // on an edge, before the DHT
 * const peers = await new TrackerClient({ baseUrl: trackerUrl }).trySelectPeers(contentId, 8, { requesterPeerId: peerId })
 * if (peers === undefined) { ... fall back to the DHT ... }
 * // on every node: the fleet's configuration, bans, keys, purges and preheats
 * const watcher = new ControlWatcher({ url: trackerUrl, peerId, role: 'edge', tokenFile, handlers: { state, purge, preheat } })
 * watcher.start()
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export { isContentId, isMultiaddr, isPeerId, isRole } from './ids.js'
export { holdingBitfield } from './bitfield.js'
export { addSpeedSample, downloadSpeed, isOnline, reliability, reputation, uploadSuccessRatio, uptimeFactor, type Reliability, type ReputationInput } from './scoring.js'
export type { ApplyResult, AvailabilityEntry, AvailabilityQuery, AvailabilityUpdate, Holding, MetricsUpdate, Observation, PeerMetrics, SelectedPeer, SelectRequest } from './types.js'
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
export * from './control-errors.js'
export { jobState, type ClusterConfigDoc, type ClusterState, type ControlCommand, type ControlEvent, type FleetBan, type JobNodeProgress, type JobStateName, type PreheatJob, type StateChange } from './control-types.js'
export {
  ControlStore, isPublicKey, DEFAULT_EVENT_STREAM_LENGTH, DEFAULT_JOB_TTL_MS, MAX_JOB_CONTENTS, MAX_JOB_PEERS, MAX_LIST_JOBS, MAX_REASON_LENGTH,
  type ControlStoreInit, type PreheatJobRequest, type ProgressReport
} from './store/control-store.js'
export { compareEventIds, isEventId } from './store/control-events.js'
export {
  banFromProto, banToProto, clusterConfigFromProto, clusterConfigToProto, clusterStateFromProto, clusterStateToProto, jobFromProto, jobNodeToProto, jobStateFromProto, jobStateToProto, jobToProto
} from './control-convert.js'
export { createControlClient, type ControlClient, type ControlClientOptions } from './control-client.js'
export {
  ControlWatcher, DEFAULT_WATCH_BACKOFF_MS, DEFAULT_WATCH_IDLE_TIMEOUT_MS, DEFAULT_WATCH_MAX_BACKOFF_MS,
  type ControlHandlers, type ControlSnapshot, type ControlWatcherInit, type PreheatProgress, type WatcherLog, type WatcherStats
} from './control-watcher.js'
