import { duration, z } from '@codio/config'
import { DEFAULT_MAX_REQUEST_BYTES } from '@codio/admin'
import { authConfigSchema, tlsConfigSchema } from '@codio/auth'
import { maxRequestBytesSchema } from '@codio/node-config'
import { DEFAULT_KEY_PREFIX, DEFAULT_LOAD_HALF, DEFAULT_MAX_CONTENTS_PER_PEER, DEFAULT_MAX_CONTENTS_UNPROVEN, DEFAULT_MAX_PEERS, DEFAULT_SUBJECT_PREFIX, isPeerId } from '@codio/tracker'

const listener = (port: number) => z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(port)
}).prefault({})

/** The tracker's configuration: TOML file + `CODIO_*` environment overrides (e.g. `CODIO_REDIS__URL`). */
export const trackerConfigSchema = z.strictObject({
  /** Process name, carried in logs. */
  name: z.string().default('tracker'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `/healthz`, `/readyz`, `/metrics`. */
  http: listener(7090),
  /**
   * ConnectRPC `codio.tracker.v1.TrackerService` and `ControlService` (Connect, gRPC-web and
   * gRPC over HTTP/1.1); HTTPS with `tls = { certFile, keyFile }`.
   */
  rpc: z.strictObject({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(7091),
    tls: tlsConfigSchema.optional(),
    /**
     * Largest request body, bytes or a size such as `"4MiB"` (default 4 MiB): a bigger one
     * answers `resource_exhausted` without being read whole.
     */
    maxRequestBytes: maxRequestBytesSchema.default(DEFAULT_MAX_REQUEST_BYTES)
  }).prefault({}),
  nats: z.strictObject({
    /** Server URL or URLs. */
    servers: z.union([z.string(), z.array(z.string()).min(1)]).default('nats://127.0.0.1:4222'),
    /** Gossip subjects are `<prefix>.availability.<peerId>` and `<prefix>.metrics.<peerId>`. */
    subjectPrefix: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'dot-separated tokens without wildcards').default(DEFAULT_SUBJECT_PREFIX),
    /**
     * NATS queue group: replicas share the gossip, each message applied by one of them (the
     * state they all read is in Redis). Empty = every replica applies every message.
     */
    queueGroup: z.string().default('codio-tracker'),
    /** User name, with `passwordFile`; empty = none. */
    user: z.string().default(''),
    /** File holding the NATS user's password (a Secret); empty = none. */
    passwordFile: z.string().default(''),
    /** File holding a NATS token, instead of user and password; empty = none. */
    tokenFile: z.string().default('')
  }).prefault({}),
  redis: z.strictObject({
    url: z.string().default('redis://127.0.0.1:6379'),
    /** Every key starts with this; replicas that should agree share it. */
    keyPrefix: z.string().min(1).default(DEFAULT_KEY_PREFIX),
    /** A Redis command not answered within this fails (RPCs then answer Unavailable). */
    commandTimeout: duration.prefault('1s')
  }).prefault({}),
  /** A peer not heard from within this is offline; every key expires after it. */
  peerTimeout: duration.prefault('5m'),
  selection: z.strictObject({
    /** Window in which hand-outs of a peer are counted to spread load. */
    loadWindow: duration.prefault('30s'),
    /** Hand-outs in the window that halve a peer's score. */
    loadHalf: z.number().positive().default(DEFAULT_LOAD_HALF)
  }).prefault({}),
  /**
   * Gossip intake and its limits against hostile or runaway senders (anyone on NATS can make up
   * peer IDs); every refusal is counted in `codio_tracker_gossip_refused_total{reason}` and every
   * entry left out in `codio_tracker_gossip_entries_dropped_total{reason}`.
   */
  gossip: z.strictObject({
    /** Gossip messages applied to Redis at once. */
    concurrency: z.number().int().min(1).max(1024).default(64),
    /** A message larger than this is refused unread (`size`), bytes. NATS's own default cap is 1 MiB. */
    maxMessageBytes: z.number().int().min(1024).default(1_048_576),
    /** Bytes of gossip decoded but not yet applied at once (with `concurrency`): bounds memory under a flood of large messages. */
    maxInflightBytes: z.number().int().min(1024).default(8 * 1_048_576),
    /** Messages taken per peer (both kinds) within `rateWindow`; more are refused (`rate`). Nodes send 2 per 30 s, plus changes. */
    maxMessagesPerPeer: z.number().int().min(1).default(60),
    rateWindow: duration.prefault('30s'),
    /** A message timestamped further than this ahead of the tracker's clock is refused (`future`). */
    maxClockSkew: duration.prefault('60s'),
    /** Contents kept per peer; the rest of a snapshot is left out (`contents`). */
    maxContentsPerPeer: z.number().int().min(1).default(DEFAULT_MAX_CONTENTS_PER_PEER),
    /** Contents kept per peer until another peer reports having received a chunk from it (made-up peers stay small). */
    maxContentsUnproven: z.number().int().min(1).default(DEFAULT_MAX_CONTENTS_UNPROVEN),
    /** Peers tracked at once (heard from within `peerTimeout`); a new peer past it is refused (`peers`). */
    maxPeers: z.number().int().min(1).default(DEFAULT_MAX_PEERS)
  }).prefault({}),
  /**
   * Bearer tokens of the RPC port: read (TrackerService, `Get*`/`List*`), node (what nodes carry:
   * read plus the `Watch` stream and job progress), admin (fleet-wide changes). Required beyond
   * loopback unless `required = "never"`.
   */
  auth: authConfigSchema.prefault({}),
  /** Peer IDs never handed out (added to the shared banned set at start). */
  bannedPeers: z.array(z.string().refine(isPeerId, 'not a peer ID')).default([])
})

export type TrackerConfig = z.infer<typeof trackerConfigSchema>
