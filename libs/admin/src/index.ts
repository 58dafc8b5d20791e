/**
 * @packageDocumentation
 * The ConnectRPC admin API every Codio process serves (`codio.admin.v1.AdminService`):
 * status, per-peer statistics, prefetch, content list, drain.
 *
 * @example
 * ```ts
 * import { startAdminServer, createAdminClient } from '@codio/admin'
 * const server = await startAdminServer({ port: 7101, backend })
 * const { peers } = await createAdminClient(server.url).getPeerStats({})
 * ```
 */
export { toConnectError } from './errors.js'
export { connectHandler, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_RESPONSE_BYTES, type ConnectHandlerInit } from './connect-handler.js'
export { adminRoutes, DEFAULT_DRAIN_TIMEOUT_MS, startAdminServer, type AdminBackend, type AdminServer, type AdminServerInit, type BanInfo, type ConfigView, type PublisherKeyInfo, type PrefetchResult, type StatusInfo } from './server.js'
export { createAdminClient, type AdminClientOptions } from './client.js'
