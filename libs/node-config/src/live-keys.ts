import type { NodeRole } from './roles.js'

/**
 * The settings a running edge, relay or origin applies without a restart (UpdateConfig, the
 * cluster document), as TOML paths. Every other setting — listeners, `dataDir`, `p2p.*`,
 * `tracker.url`/`nats`/credentials, `swarm.choking`/`superSeeding`/`peerExchange`, `auth.*`,
 * the publisher key file — is read once at start and needs a restart.
 */
export const LIVE_KEYS: readonly string[] = [
  'logLevel',
  'swarm.maxUploadRate',
  'swarm.maxDownloadRate',
  'swarm.regularUnchokeSlots',
  'swarm.optimisticUnchokeSlots',
  'swarm.unchokeInterval',
  'swarm.optimisticUnchokeInterval',
  'fetch.lookupTimeout',
  'fetch.requestTimeout',
  'fetch.perPeerInFlight',
  'fetch.maxInFlight',
  'fetch.strategy',
  'fetch.streamingWindow',
  'trust.publisherKeys',
  'trust.revokedKeys',
  'tracker.gossipInterval'
]

/** Live settings only some roles have. */
const ROLE_LIVE_KEYS: Record<NodeRole, readonly string[]> = {
  edge: [],
  relay: [],
  /** read by each upload without an explicit `?fec=`/`?chunkSize=` */
  origin: ['ingest.fec', 'ingest.chunkSize', 'ingest.maxUploadBytes']
}

/** Array settings whose layers add up instead of the highest replacing the rest. */
export const ACCUMULATED_KEYS: readonly string[] = ['trust.publisherKeys', 'trust.revokedKeys']

/** Whether `role` applies the setting at TOML path `path` without a restart. */
export function isLiveKey (role: NodeRole, path: string): boolean {
  return LIVE_KEYS.includes(path) || ROLE_LIVE_KEYS[role].includes(path)
}
