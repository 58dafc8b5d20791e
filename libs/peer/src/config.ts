import type { PeerServiceConfig } from '@codio/node-config'

// The schemas moved to @codio/node-config (libp2p-free, so the tracker can validate a role's
// cluster config); re-exported here so existing imports keep working.
export {
  p2pConfigSchema, trustConfigSchema, fetchConfigSchema, swarmConfigSchema, trackerConfigSchema,
  listenerSchema, peerServiceConfig, type PeerServiceConfig
} from '@codio/node-config'

/** The {@link PeerInit} fields a service's parsed configuration determines. */
export function peerSettings (config: Pick<PeerServiceConfig, 'dataDir' | 'p2p' | 'fetch' | 'swarm' | 'tracker'> & Partial<Pick<PeerServiceConfig, 'limits'>>) {
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
    limits: config.limits == null
      ? undefined
      : {
          maxStreams: config.limits.maxStreamsPerPeer,
          maxSessions: config.limits.maxSessionsPerPeer,
          maxRequestsInFlight: config.limits.maxRequestsPerPeer,
          maxMessageBytes: config.limits.maxMessageBytes,
          maxBufferedBytes: config.limits.maxBufferedBytesPerPeer,
          haveRatePerSecond: config.limits.haveRatePerSecond,
          haveBurst: config.limits.haveBurst
        },
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
