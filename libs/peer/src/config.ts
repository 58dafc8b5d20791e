import type { PeerServiceConfig } from '@codio/node-config'

// The schemas moved to @codio/node-config (libp2p-free, so the tracker can validate a role's
// cluster config); re-exported here so existing imports keep working.
export {
  p2pConfigSchema, trustConfigSchema, fetchConfigSchema, swarmConfigSchema, trackerConfigSchema,
  listenerSchema, peerServiceConfig, type PeerServiceConfig
} from '@codio/node-config'

/** The {@link PeerInit} fields a service's parsed configuration determines. */
export function peerSettings (config: Pick<PeerServiceConfig, 'dataDir' | 'p2p' | 'fetch' | 'swarm' | 'tracker'>) {
  return {
    dataDir: config.dataDir,
    ...config.p2p,
    lookupTimeoutMs: config.fetch.lookupTimeout,
    requestTimeoutMs: config.fetch.requestTimeout,
    perPeerInFlight: config.fetch.perPeerInFlight,
    maxInFlight: config.fetch.maxInFlight,
    strategy: config.fetch.strategy,
    streamingWindow: config.fetch.streamingWindow,
    swarm: config.swarm,
    tracker: {
      url: config.tracker.url,
      nats: config.tracker.nats,
      natsAuth: { user: config.tracker.natsUser, passwordFile: config.tracker.natsPasswordFile, tokenFile: config.tracker.natsTokenFile },
      gossipIntervalMs: config.tracker.gossipInterval,
      timeoutMs: config.tracker.timeout,
      tokenFile: config.tracker.tokenFile
    }
  }
}
