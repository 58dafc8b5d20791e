/**
 * @packageDocumentation
 * The configuration schemas of Codio's peer roles (edge, relay, origin) and the shared peer
 * tables (`[p2p]`, `[trust]`, `[fetch]`, `[swarm]`, `[tracker]`), free of libp2p so that the
 * tracker can validate a role's cluster configuration document.
 *
 * @example
 * ```ts
 * import { checkClusterUpdate, roleConfigSchemas } from '@codio/node-config'
 * const edge = roleConfigSchemas.edge.parse({ swarm: { maxDownloadRate: '10MB' } })
 * const doc = checkClusterUpdate('edge', {}, { swarm: { maxUploadRate: '10MB' } }, [])
 * ```
 */
export * from './peer-config.js'
export * from './roles.js'
export * from './live-keys.js'
export { checkClusterUpdate } from './check-cluster-update.js'
export * from './load-node-config.js'
