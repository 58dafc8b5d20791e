import { byteSize, duration, z } from '@codio/config'
import { authConfigSchema, tlsConfigSchema } from '@codio/auth'

// Moved here from libs/peer/src/config.ts (issue 15) so that it loads without libp2p.

/**
 * Settings every Codio peer shares (the `[p2p]`, `[trust]` and `[fetch]` tables of a
 * service's TOML file). Defaults suit a local cluster on loopback.
 */
export const p2pConfigSchema = z.strictObject({
  /** Multiaddrs to listen on. */
  listen: z.array(z.string()).default(['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/udp/0/quic-v1']),
  /** Multiaddrs to announce instead of the listen addresses. */
  announce: z.array(z.string()).default([]),
  /**
   * Bootstrap peers: multiaddrs ending in /p2p/<peer id>, or without it (e.g. a DNS name,
   * /dns4/relay-1/tcp/4001): the peer ID is then learned when the dial succeeds.
   */
  bootstrap: z.array(z.string()).default([]),
  quic: z.boolean().default(true),
  /** Discover peers on the local network over multicast DNS (RFC 6762) and dial them. */
  mdns: z.boolean().default(false),
  /** Run a circuit relay v2 server (reservations for peers with no dialable address). Unset: on at a relay. */
  relayServer: z.boolean().optional(),
  /** Relays to hold a reservation on (full multiaddrs ending in /p2p/<id>): for a node nobody can dial. */
  relayReservation: z.array(z.string()).default([]),
  /** Ceiling on open connections. Unset: 200 at a relay (one per reservation), 50 elsewhere. */
  maxConnections: z.number().int().min(1).max(100_000).optional(),
  /**
   * The bulk channel: chunk requests and pieces on a direct TLS 1.3 connection between two
   * peers, each end's certificate bound to its peer ID as the libp2p TLS spec binds it, instead
   * of a Yamux stream in the libp2p connection (about half the CPU per byte: `npm run
   * bench:transport`). Peers learn each other's port over libp2p; a peer without one, reached
   * only through a relay, or whose port does not answer is asked over libp2p streams.
   */
  bulk: z.strictObject({
    enabled: z.boolean().default(true),
    /** Address to listen on. Unset: the address of the first TCP listen multiaddr (e.g. 0.0.0.0), else 0.0.0.0. */
    host: z.string().min(1).optional(),
    /** TCP port; 0 takes a free one. Open it between nodes where a firewall stands between them. */
    port: z.number().int().min(0).max(65535).default(0)
  }).default({ enabled: true, port: 0 }),
  /**
   * The node's libp2p private key (its peer ID): libp2p's protobuf encoding or a PEM PKCS#8
   * Ed25519 key, e.g. a mounted Kubernetes Secret. Unset: `<dataDir>/peer.key`, created if missing.
   */
  keyFile: z.string().min(1).optional()
})

export const trustConfigSchema = z.strictObject({
  /**
   * Trusted publisher keys: base64url Ed25519 public keys or paths to JWK files. The layers
   * (file, environment, cluster, runtime) add up: a runtime TrustKey adds to the file's keys.
   */
  publisherKeys: z.array(z.string()).default([]),
  /**
   * Revoked publisher keys (base64url): refused even when a layer lists them in
   * `publisherKeys`; the layers add up as for `publisherKeys`.
   */
  revokedKeys: z.array(z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected a base64url Ed25519 public key (43 characters)')).default([])
})

export const fetchConfigSchema = z.strictObject({
  /** Longest provider lookup before content counts as unknown. */
  lookupTimeout: duration.default(10_000),
  /** Longest a single chunk request may take before it goes to another peer. */
  requestTimeout: duration.default(30_000),
  /**
   * Requests in flight per peer: a number, or "adaptive" to size each peer's queue to its
   * measured rate (libtorrent's request queue sizing).
   */
  perPeerInFlight: z.union([z.number().int().min(1).max(64), z.literal('adaptive')]).default(4),
  /** Order of the chunks beyond the streaming window: BEP 3 rarest-first (ties at random), sequential or random. */
  strategy: z.enum(['rarest-first', 'sequential', 'random']).default('rarest-first'),
  /** Chunks ahead of an HTTP reader's position fetched first, in order. */
  streamingWindow: z.number().int().min(0).max(1024).default(8),
  /** Requests in flight per download across all peers. */
  maxInFlight: z.number().int().min(1).max(1024).default(32)
})

/** Rates are bytes per second ("25MB" = 25 000 000 B/s, "0" = unlimited). */
export const swarmConfigSchema = z.strictObject({
  /** Upload limit over all peers, bytes/s (token bucket); 0 = unlimited. */
  maxUploadRate: byteSize.default(0),
  /** Download limit over all downloads, bytes/s (token bucket); 0 = unlimited. */
  maxDownloadRate: byteSize.default(0),
  /** Tit-for-tat choking (BEP 3): chunk requests from swarm peers not unchoked are refused CHOKED. */
  choking: z.boolean().default(true),
  /** Peers unchoked for the rate they upload to us (or we upload to them, when seeding). */
  regularUnchokeSlots: z.number().int().min(0).max(1000).default(4),
  /** Peers unchoked at random on top, favouring new ones. */
  optimisticUnchokeSlots: z.number().int().min(0).max(100).default(1),
  /** How often the regular unchoke slots are recomputed. */
  unchokeInterval: duration.default(10_000),
  /** How often the optimistic unchoke rotates. */
  optimisticUnchokeInterval: duration.default(30_000),
  /**
   * Super-seeding (BEP 16) of contents held whole: each chunk leaves this node about once and
   * peers spread it. Unset: on at an origin, off elsewhere.
   */
  superSeeding: z.boolean().optional(),
  /**
   * A super-seed's upload budget in copies of the content (a number ≥ 1): every chunk leaves
   * it once (again if all its holders leave), and second copies of the least spread chunks
   * while those stay under `(superSeedCopies − 1)` × the content's chunks.
   */
  superSeedCopies: z.number().min(1).max(1000).default(1.5),
  /**
   * Peer exchange (BEP 11): swarm peers name each other the peers they trade a content with,
   * so a newcomer finds the swarm through its first session instead of repeated DHT lookups.
   */
  peerExchange: z.boolean().default(true)
})

/**
 * What one remote peer may cost this node (`[limits]`, read at start): past each limit the
 * peer is refused (a stream reset, a request answered OVERLOADED, a session closed), counted in
 * `codio_exchange_refused_total{reason}`.
 */
export const limitsConfigSchema = z.strictObject({
  /** Block streams (`/codio/chunk`) one peer may hold open to us at once. */
  maxStreamsPerPeer: z.number().int().min(1).max(1024).default(8),
  /** Swarm sessions (`/codio/swarm`, one per content) one peer may hold open to us at once. */
  maxSessionsPerPeer: z.number().int().min(1).max(65_536).default(256),
  /** Block requests one peer may have queued with us at once (more are answered OVERLOADED). */
  maxRequestsPerPeer: z.number().int().min(1).max(65_536).default(256),
  /** Largest block-stream message read from a peer; unset = the largest chunk or manifest plus framing (and never more). */
  maxMessageBytes: byteSize.refine(n => Number.isInteger(n) && n >= 1024, 'must be at least 1 KiB').optional(),
  /** Bytes a block stream's reader buffers per peer; unset = two messages. At least `maxMessageBytes`. */
  maxBufferedBytesPerPeer: byteSize.refine(n => Number.isInteger(n) && n >= 1024, 'must be at least 1 KiB').optional(),
  /** Swarm state messages (`have` indexes, choke and interest changes) one session may send per second. */
  haveRatePerSecond: z.number().int().min(1).max(1_000_000).default(5000),
  /** Burst of swarm state messages above that rate. */
  haveBurst: z.number().int().min(1).max(10_000_000).default(20_000)
})

export const trackerConfigSchema = z.strictObject({
  /** TrackerService URL (e.g. http://127.0.0.1:7091), asked for providers before the DHT; "" = none. */
  url: z.string().default(''),
  /** NATS servers to gossip availability and metrics to; empty = no gossip. */
  nats: z.array(z.string()).default([]),
  /** How often availability and metrics are gossiped (also on change). */
  gossipInterval: duration.default(30_000),
  /** Longest wait for the tracker before falling back to the DHT. */
  timeout: duration.default(500),
  /** NATS user name, with `natsPasswordFile`; empty = none. */
  natsUser: z.string().default(''),
  /** File holding the NATS user's password (a Secret); empty = none. */
  natsPasswordFile: z.string().default(''),
  /** File holding a NATS token, instead of user and password; empty = none. */
  natsTokenFile: z.string().default(''),
  /** File holding the bearer token (scope `node`) sent to the tracker's RPC port (a Secret); empty = none. */
  tokenFile: z.string().default('')
})

export const listenerSchema = (port: number) => z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(port),
  /** PEM certificate and key files: the listener then serves HTTPS (the admin port; the origin's ingest port). */
  tls: tlsConfigSchema.optional()
})

/** Request body limit of a ConnectRPC listener: 1 B to 2^32−1 B (Connect's ceiling); e.g. `"4MiB"`. */
export const maxRequestBytesSchema = byteSize.refine(n => Number.isInteger(n) && n >= 1 && n <= 0xffffffff, 'must be from 1 B to 4 GiB − 1 B')

/** The `[admin]` listener: a {@link listenerSchema} plus the request body limit. */
export const adminListenerSchema = (port: number) => listenerSchema(port).extend({
  /** Largest ConnectRPC request body (default 4 MiB, as `@codio/admin`): a bigger one answers `resource_exhausted` unread. */
  maxRequestBytes: maxRequestBytesSchema.default(4 * 1024 * 1024)
})

/**
 * The settings every peer service has: identity and storage, log level, its HTTP and admin
 * listeners, and the `[p2p]`, `[trust]` and `[fetch]` tables. A service spreads this into its
 * own `z.strictObject({ ...peerServiceConfig('edge', 8080, 8081), ...its own })`.
 */
export function peerServiceConfig (role: string, httpPort: number, adminPort: number) {
  return {
    /** Process name, carried in logs. */
    name: z.string().default(role),
    /** Holds the block store and the peer key. */
    dataDir: z.string().default(`.codio/${role}`),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    http: listenerSchema(httpPort).default({ host: '127.0.0.1', port: httpPort }),
    admin: adminListenerSchema(adminPort).prefault({}),
    p2p: p2pConfigSchema.default(p2pConfigSchema.parse({})),
    trust: trustConfigSchema.default(trustConfigSchema.parse({})),
    fetch: fetchConfigSchema.default(fetchConfigSchema.parse({})),
    swarm: swarmConfigSchema.default(swarmConfigSchema.parse({})),
    limits: limitsConfigSchema.default(limitsConfigSchema.parse({})),
    tracker: trackerConfigSchema.default(trackerConfigSchema.parse({})),
    /** Bearer tokens of the admin (and, at the origin, ingest) listeners, and when they are required (@codio/auth). */
    auth: authConfigSchema.prefault({})
  }
}

/** The parsed settings {@link peerServiceConfig} adds to a service's configuration. */
export type PeerServiceConfig = { [K in keyof ReturnType<typeof peerServiceConfig>]: z.infer<ReturnType<typeof peerServiceConfig>[K]> }

