/**
 * @packageDocumentation
 * The Codio tracker: collects node gossip from NATS (`codio.gossip.availability.<peerId>`,
 * `codio.gossip.metrics.<peerId>`), keeps it in Redis, and answers
 * `codio.tracker.v1.TrackerService` (SelectPeers, GetPeerMetrics, ListAvailability) over
 * ConnectRPC, and the fleet control plane `codio.tracker.v1.ControlService` (cluster config per
 * role, fleet purge, bans and keys, preheat jobs, the nodes' Watch streams) beside it.
 * Run it as `codio-tracker --config tracker.toml`.
 *
 * @example
 * ```ts
 * import { createTracker, trackerConfigSchema } from '@codio/tracker-service'
 * const tracker = createTracker(trackerConfigSchema.parse({ nats: { servers: natsUrl }, redis: { url: redisUrl } }), log)
 * await tracker.start()
 * ```
 */
export { createTracker, type Tracker, type TrackerOverrides } from './tracker.js'
export { trackerConfigSchema, type TrackerConfig } from './config.js'
export { trackerRoutes } from './routes.js'
export { consumeGossip, type GossipConsumer, type GossipConsumerInit } from './gossip-consumer.js'
export { trackerMetrics, type TrackerMetrics } from './metrics.js'
export { toConnectError } from './errors.js'
export { createControlPlane, type ControlPlane, type ControlPlaneInit } from './control/plane.js'
