/**
 * @packageDocumentation
 * Real backing servers (NATS, Redis) for tests and the local cluster, found in the order
 * TOOLBOX.md gives: `NATS_URL` / `REDIS_URL` → a container when a container runtime answers →
 * the Debian binary on a free loopback port → a typed error naming the package to install.
 * Servers started here are killed on `stop()` and, failing that, when this process exits.
 *
 * @example
 * ```ts
 * import { startNats, startRedis } from '@codio/sidecars'
 * const nats = await startNats()
 * const redis = await startRedis()
 * try { ... connect(nats.url) ... new Redis(redis.url) ... } finally {
 *   await Promise.all([nats.stop(), redis.stop()])
 * }
 * ```
 */
export { startNats, type NatsOptions } from './nats.js'
export { startRedis } from './redis.js'
export { startSidecar, type Sidecar, type SidecarOptions, type SidecarSpec } from './sidecar.js'
export { findBinary, searchDirs, DEFAULT_SEARCH_DIRS, type FindBinaryOptions } from './find-binary.js'
export { containerRuntimeAvailable } from './container.js'
export { freePort, freeUdpPort, probe } from './ports.js'
export { SERVICE_NODE_FLAGS } from './node-flags.js'
export { SidecarRestartError, SidecarStartError, SidecarUnavailableError, DEBIAN_PACKAGES, type SidecarKind } from './errors.js'
