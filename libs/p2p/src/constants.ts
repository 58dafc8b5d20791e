/**
 * Prefix of the Codio protocol ids that are ours to name: the DHT (`/codio/kad/1.0.0`, which is
 * what keeps Codio's network apart from the public IPFS DHT) and the swarm protocols. Identify
 * and ping keep libp2p's standard ids (`/ipfs/id/1.0.0`, `/ipfs/id/push/1.0.0`,
 * `/ipfs/ping/1.0.0`), so that any libp2p node or tool can identify a Codio node and learn that
 * it speaks `/codio/kad/1.0.0`; circuit relay v2 keeps its spec-fixed ids
 * (`/libp2p/circuit/relay/0.2.0/hop|stop`).
 */
export const PROTOCOL_PREFIX = 'codio'

/** libp2p's standard identify, identify-push and ping protocol ids (libp2p specs: identify, ping). */
export const IDENTIFY_PROTOCOL = '/ipfs/id/1.0.0'
export const IDENTIFY_PUSH_PROTOCOL = '/ipfs/id/push/1.0.0'
export const PING_PROTOCOL = '/ipfs/ping/1.0.0'

/** Kademlia DHT protocol id of the Codio network (kept apart from the public IPFS DHT). */
export const DHT_PROTOCOL = `/${PROTOCOL_PREFIX}/kad/1.0.0`

/** Kademlia replication parameter K (the Kademlia paper, §2.2). */
export const K_BUCKET_SIZE = 20

/** Kademlia lookup concurrency α: peers queried in parallel per lookup (Kademlia paper, §2.3). */
export const DHT_ALPHA = 3

/**
 * How long a provider record stays valid, in ms (24 h). kad-dht 16 expires records in its
 * reprovider (`reprovide.validity`, ms); `providers.provideValidity` (s) is set to match.
 */
export const PROVIDER_VALIDITY_MS = 86_400_000

/**
 * How often a node republishes the provider records it owns, in ms (12 h): kad-dht re-provides
 * a record of ours once it is within `threshold` = validity − 12 h of expiring, i.e. 12 h after
 * it was last published (IPFS republishes at half the record lifetime).
 */
export const REPUBLISH_INTERVAL_MS = 43_200_000

/**
 * How often the DHT scans its provider store, in ms: re-provides due records of ours and drops
 * expired records of others. Records are republished 12 h to 12 h + this after their last
 * publication, and an expired record may be served for up to this long.
 */
export const REPROVIDE_CHECK_INTERVAL_MS = 600_000

/**
 * Budget for one DHT query (provide, find providers), in ms. kad-dht has no setting for it (it
 * falls back to 180 s when no signal is given): pass `signal: AbortSignal.timeout(QUERY_TIMEOUT_MS)`.
 */
export const QUERY_TIMEOUT_MS = 60_000

/** Default listen addresses: TCP and QUIC-v1 on loopback, OS-chosen ports. */
export const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/udp/0/quic-v1']

/** Default ceiling on open connections. */
export const DEFAULT_MAX_CONNECTIONS = 50

/**
 * Room above `maxConnections` for connections that arrive before room is made, as a share of
 * `maxConnections` (at least {@link MIN_CONNECTION_HEADROOM}): libp2p itself refuses inbound
 * connections only beyond `maxConnections` + headroom, and the node prunes back to
 * `maxConnections` as soon as connections open (see `ConnectionLimiter`). 0.2 → 60 at 50.
 */
export const CONNECTION_HEADROOM = 0.2

/** Least headroom above `maxConnections`, in connections. */
export const MIN_CONNECTION_HEADROOM = 4

/**
 * Age below which a connection is never pruned, ms: an inbound connection is opened to carry an
 * RPC (a DHT query, a ping of a new routing-table contact), which has to get the chance to run.
 * go-libp2p's connection manager has the same "grace period" (20 s there, for long-lived uses).
 */
export const CONNECTION_GRACE_MS = 2_000

/**
 * Longest wait for identify on a new connection before its grace period starts anyway, ms: the
 * grace period runs from identify, so a node too busy to finish handshakes does not prune the
 * connections it has not been able to use yet.
 */
export const IDENTIFY_WAIT_MS = 10_000

/**
 * A peer that connects again within this long of being pruned evidently keeps this node alive
 * on its side (it bootstraps through us, or downloads from us): it is pruned after the others
 * for ten times this long, ms.
 */
export const REDIAL_MEMORY_MS = 30_000

/** mDNS service name Codio peers query and answer (RFC 6763 service instance, libp2p mDNS spec). */
export const MDNS_SERVICE_TAG = '_codio-discovery._udp.local'

/** How often a node with mDNS on queries the local network, in ms. */
export const MDNS_INTERVAL_MS = 10_000

/**
 * How often the connection monitor pings every open connection, in ms: 30 s, Yamux's own
 * keepalive interval, not libp2p's 10 s. Each ping opens a stream and negotiates the protocol on
 * both ends; at 50 connections a node, 10 s pings were most of an idle node's CPU (bench:dht,
 * 100 nodes on 2 cores: 1.07–1.33 cores busy while idle at 10 s, 0.43 at 60 s; lookup CPU
 * 121–215 ms vs 82 ms). A dead connection is still closed within interval + timeout
 * ({@link PING_TIMEOUT_MIN_MS}), 60 s; a swarm download notices a silent peer sooner (its stall timeout).
 */
export const PING_INTERVAL_MS = 30_000

/**
 * Shortest time a connection-monitor ping may take before the connection is closed as dead
 * (ms; libp2p's adaptive timeout, whose own floor is 5 s). On a saturated link a ping waits
 * behind megabytes of queued chunk data: at 10 Mbit/s the 5 s floor killed busy, healthy
 * connections mid-download (issue 19's network faults). 30 s, the swarm's own stall timeout,
 * still closes a connection whose peer is gone.
 */
export const PING_TIMEOUT_MIN_MS = 30_000

/** First reconnection delay to a kept-alive peer after it disconnects, in ms. */
export const RECONNECT_INITIAL_DELAY_MS = 1_000

/** Ceiling on the reconnection delay, in ms: a kept-alive peer is retried at least this often. */
export const RECONNECT_MAX_DELAY_MS = 30_000

/** Growth factor of the reconnection delay between failed attempts. */
export const RECONNECT_BACKOFF_FACTOR = 2

/** Time allowed for one reconnection dial, in ms. */
export const RECONNECT_DIAL_TIMEOUT_MS = 10_000

/**
 * Peer-store tag on kept-alive peers (bootstrap peers and peers a download depends on). The peer
 * table never prunes their connections. The name deliberately does not start
 * with libp2p's `keep-alive`: libp2p's own reconnect queue gives up after a few retries and then
 * deletes every `keep-alive*` tag, while Codio keeps retrying these peers (see {@link PeerTable}).
 */
export const KEEP_ALIVE_TAG = 'codio-keep-alive'

/** Value of {@link KEEP_ALIVE_TAG} (libp2p tag values are 1–100); the peer table never prunes such peers. */
export const KEEP_ALIVE_TAG_VALUE = 100

/** Default ceiling on circuit relay v2 reservations a relay server holds at once. */
export const DEFAULT_RELAY_MAX_RESERVATIONS = 128

/** Upper bound on the entries a {@link PeerTable} keeps; the least recently seen disconnected ones go first. */
export const DEFAULT_PEER_TABLE_SIZE = 4_096
