/**
 * @packageDocumentation
 * What every Codio process does the same way: `/healthz`, `/readyz` and `/metrics` on its
 * HTTP server, and a shutdown that stops parts in reverse order within a time limit.
 *
 * @example
 * ```ts
 * import { registerHealthRoutes, onShutdown } from '@codio/service'
 * registerHealthRoutes(app, { ready: () => peer.node.status === 'started', registry })
 * onShutdown(() => edge.stop(), { log })
 * ```
 */
export { registerHttpMetrics } from './http-metrics.js'
export { tracedRoute, type RequestTrace, type TracedRouteInit } from './request-trace.js'
export { registerHealthRoutes, onShutdown, cannotStart, listen, type HealthInit, type ShutdownOptions } from './health.js'
export { peerService, readPackageVersion, type Listener, type PeerService, type PeerServiceInit } from './peer-service.js'
export { nodeConfigBackend, InvalidPublicKeyError, type NodeConfigBackend, type NodeConfigBackendInit, type NodeConfigSource, type NodeLiveConfig } from './config-backend.js'
