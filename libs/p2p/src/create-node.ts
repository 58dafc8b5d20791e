import { noise } from '@chainsafe/libp2p-noise'
import { quic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, circuitRelayTransport, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { identify, identifyPush, type Identify, type IdentifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper, type SingleKadDHT } from '@libp2p/kad-dht'
import { ping, type Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { CODE_P2P, multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p, type ServiceFactoryMap } from 'libp2p'
import type { ConnectionGater, Metrics, PeerDiscovery, PeerId, PrivateKey, ServiceMap } from '@libp2p/interface'
import {
  CONNECTION_HEADROOM, DEFAULT_LISTEN, DEFAULT_MAX_CONNECTIONS, DEFAULT_RELAY_MAX_RESERVATIONS, DHT_ALPHA, DHT_PROTOCOL,
  K_BUCKET_SIZE, MIN_CONNECTION_HEADROOM, PING_INTERVAL_MS, PING_TIMEOUT_MIN_MS, PROVIDER_VALIDITY_MS,
  RECONNECT_BACKOFF_FACTOR, RECONNECT_INITIAL_DELAY_MS, REPROVIDE_CHECK_INTERVAL_MS, REPUBLISH_INTERVAL_MS
} from './constants.js'
import { InvalidMultiaddrError, InvalidOptionError } from './errors.js'
import { OwnedValueDatastore } from './datastore.js'
import { checkMdnsInit, mdnsDiscovery, type MdnsInit } from './mdns.js'
import { peerTable, type PeerTable } from './peer-table.js'
import { noiseCrypto } from './noise-crypto.js'
import { cachingTls } from './tls-encrypter.js'
import { checkReconnectInit, type ReconnectInit } from './reconnector.js'

/** Circuit relay v2 server settings; `true` in {@link P2PNodeInit.relayServer} means all defaults. */
export interface RelayServerInit {
  /** Reservations held at once. Default 128. */
  maxReservations?: number
  /**
   * Bytes one relayed connection may carry before the relay resets it. Default: no limit (the
   * spec's 128 KiB default would cut a 1 MiB chunk). Setting this or `durationLimitMs` makes
   * relayed connections *limited*: stream handlers and `dialProtocol` then need
   * `runOnLimitedConnection: true`.
   */
  dataLimitBytes?: number
  /** How long one relayed connection may stay open, ms. Default: no limit (spec default 2 min). */
  durationLimitMs?: number
  /** Lifetime of a reservation before the client must refresh it, ms. Default 2 h (libp2p). */
  reservationTtlMs?: number
}

export interface P2PNodeInit<T extends ServiceMap = Record<never, never>> {
  /** Extra libp2p services (e.g. the chunk exchange), added beside the built-in ones. */
  services?: ServiceFactoryMap<T>
  /** The node's identity (see {@link loadOrCreatePeerKey}). */
  privateKey: PrivateKey
  /**
   * The agent version identify tells peers, e.g. `codio-edge/0.1.0` (libp2p's `nodeInfo.userAgent`;
   * other Codio nodes read the role from it). Default: libp2p's own.
   */
  userAgent?: string
  /**
   * libp2p's metrics implementation, e.g. `prometheusMetrics({ registry })` from
   * `@libp2p/prometheus-metrics`: connection, stream, transfer and kad-dht metrics. Default none.
   */
  metrics?: (components: any) => Metrics
  /**
   * Multiaddrs to listen on. Default: TCP and QUIC-v1 on 127.0.0.1, OS-chosen ports.
   * `/p2p-circuit` listens through a relay reservation on any connected relay;
   * `<relay addr>/p2p-circuit` on that relay only (start fails if it is unreachable).
   */
  listen?: string[]
  /** Multiaddrs to announce instead of the listen addresses (e.g. behind NAT or in Kubernetes). */
  announce?: string[]
  /**
   * Bootstrap peers, as multiaddrs ending in `/p2p/<peer id>`, or without it (e.g.
   * `/dns4/relay-0.relay/tcp/4001`: the peer ID is learned from the handshake, so a service
   * name can stand for a peer whose key the config does not know). Dialled at start and kept
   * alive: redialled with backoff whenever the connection drops (see `reconnect`).
   */
  bootstrap?: string[]
  /** Enable QUIC-v1. Default true. */
  quic?: boolean
  /**
   * Keep loopback and private addresses in DHT peer records. Default true: a local cluster
   * lives on 127.0.0.1. Turn off on the public internet.
   */
  allowPrivateAddresses?: boolean
  /** Run the DHT as a client only (no routing-table service to others). Default false. */
  dhtClientMode?: boolean
  /**
   * Open connections the node keeps to (integer ≥ 1). Default 50. At the limit the node makes
   * room instead of refusing: a new connection (inbound or outbound) is accepted and the least
   * valuable open one is closed — idle, untagged, not recently used by a DHT RPC (see
   * `ConnectionLimiter`); kept-alive peers (bootstrap, relays, downloads), relay reservations,
   * connections carrying an application stream and connections in their grace period (until
   * identify ran on them, then 2 s) are never closed. Connections that arrive faster than room is made may briefly take the count above
   * the limit, by at most 20 % (at least 4): libp2p refuses inbound connections beyond that.
   */
  maxConnections?: number
  /**
   * Discover peers on the local network over mDNS and dial them (below `maxConnections`).
   * Default off; `true` for defaults (`_codio-discovery._udp.local`, every 10 s). Sends multicast
   * on every IPv4 interface of the host.
   */
  mdns?: boolean | MdnsInit
  /**
   * Serve circuit relay v2 (relays run it): peers without a dialable address reserve a slot here
   * and are reached through `/p2p/<relay>/p2p-circuit/p2p/<peer>`. Default off.
   */
  relayServer?: boolean | RelayServerInit
  /**
   * Relays (full multiaddrs with `/p2p/<relay id>`) to stay connected to and hold one
   * reservation each through, so the node is reachable without a dialable address of its own.
   * The relays are kept alive like bootstrap peers and the reservation is renewed after a relay
   * restarts. Reservations go to connected relays, normally these.
   */
  relayReservation?: string[]
  /** Reconnection backoff for bootstrap, relay and {@link keepAlive} peers. */
  reconnect?: ReconnectInit
  /** How often every open connection is pinged on `/ipfs/ping/1.0.0`, ms; a failed ping closes it. Default 30 000 (PING_INTERVAL_MS). */
  pingIntervalMs?: number
  /**
   * Peers refused at the connection level (a ban list): consulted on every dial, every outbound
   * connection to a known peer ID and every connection once its remote peer is authenticated
   * (Noise), inbound and outbound, so a peer it names can neither connect to us nor be
   * connected to. Called at each attempt: a mutable set behind it takes effect at once (the
   * gater is fixed at node creation). Connections already open are not closed by it.
   */
  denyPeer?: (peer: PeerId) => boolean
}

export type P2PServices = {
  /** One DHT on one protocol, so its routing table is visible (`dht.routingTable.size`). */
  dht: SingleKadDHT
  identify: Identify
  identifyPush: IdentifyPush
  ping: Ping
  /** Per-peer connection records and the keep-alive set. */
  peers: PeerTable
  /** The circuit relay v2 server, when `relayServer` is set. */
  relay?: CircuitRelayService
}

export type P2PNode<T extends ServiceMap = Record<never, never>> = Libp2p<P2PServices & T>

function parseAddrs (what: string, addrs: string[], needPeerId = false): Multiaddr[] {
  return addrs.map(a => {
    let ma: Multiaddr
    try {
      ma = multiaddr(a)
    } catch (err: any) {
      throw new InvalidMultiaddrError(`${what} address "${a}" is not a multiaddr: ${err.message}`, { cause: err })
    }
    if (needPeerId && !ma.getComponents().some(c => c.code === CODE_P2P)) {
      throw new InvalidMultiaddrError(`${what} address "${a}" must end in /p2p/<peer id>`)
    }
    return ma
  })
}

function checkInt (name: string, value: number | undefined, min: number): void {
  if (value != null && !(Number.isInteger(value) && value >= min)) {
    throw new InvalidOptionError(`${name} must be an integer ≥ ${min}, got ${value}`)
  }
}

function relayServerInit (opt: true | RelayServerInit): Parameters<typeof circuitRelayServer>[0] {
  const o = opt === true ? {} : opt
  checkInt('relayServer.maxReservations', o.maxReservations, 1)
  checkInt('relayServer.dataLimitBytes', o.dataLimitBytes, 1)
  checkInt('relayServer.durationLimitMs', o.durationLimitMs, 1)
  checkInt('relayServer.reservationTtlMs', o.reservationTtlMs, 1)
  const limited = o.dataLimitBytes != null || o.durationLimitMs != null
  return {
    reservations: {
      maxReservations: o.maxReservations ?? DEFAULT_RELAY_MAX_RESERVATIONS,
      reservationTtl: o.reservationTtlMs,
      // without this the relay cuts every relayed connection after 128 KiB or 2 min
      applyDefaultLimit: limited,
      defaultDataLimit: BigInt(o.dataLimitBytes ?? Number.MAX_SAFE_INTEGER),
      defaultDurationLimit: o.durationLimitMs ?? 2 ** 31 - 1
    }
  }
}

/** The gater: private addresses allowed or not, and the peers {@link P2PNodeInit.denyPeer} refuses. */
function connectionGater (allowPrivate: boolean, denyPeer?: (peer: PeerId) => boolean): ConnectionGater {
  const gater: ConnectionGater = allowPrivate ? { denyDialMultiaddr: () => false } : {}
  if (denyPeer != null) {
    gater.denyDialPeer = denyPeer
    gater.denyOutboundConnection = denyPeer
    // the remote's identity is proven only after the Noise handshake: inbound refusals happen here
    gater.denyInboundEncryptedConnection = denyPeer
    gater.denyOutboundEncryptedConnection = denyPeer
  }
  return gater
}

/**
 * Build (not start) a libp2p node with Codio's stack: TCP, QUIC-v1 and circuit relay v2
 * transports, Noise and TLS 1.3, Yamux, identify and identify-push and ping on
 * libp2p's standard ids (ping is also the connection monitor's keep-alive), a Kademlia DHT on `/codio/kad/1.0.0` with K = 20 and α = 3 (Maymounkov & Mazières
 * 2002; libp2p kad-dht spec), provider records valid 24 h and republished every 12 h, and the
 * `peers` service ({@link PeerTable}). Peers are found through the bootstrap list (dialled at
 * start, kept alive), optionally mDNS on the LAN, and the DHT (random walk) for everything else.
 * The DHT's protocol id is Codio's own (`/codio/kad/1.0.0`); circuit relay keeps its spec ids
 * `/libp2p/circuit/relay/0.2.0/{hop,stop}`.
 *
 * @throws InvalidMultiaddrError when a listen, announce, bootstrap or relay address does not
 *   parse, or a relay address has no `/p2p/<peer id>`
 * @throws InvalidOptionError when `maxConnections`, `pingIntervalMs`, an mDNS, relay or
 *   reconnect option is out of range
 */
export async function createP2PNode<T extends ServiceMap = Record<never, never>> (init: P2PNodeInit<T>): Promise<P2PNode<T>> {
  const listen = parseAddrs('listen', init.listen ?? DEFAULT_LISTEN)
  const announce = parseAddrs('announce', init.announce ?? [])
  const relays = parseAddrs('relay', init.relayReservation ?? [], true)
  const bootstrapAddrs = parseAddrs('bootstrap', init.bootstrap ?? [])
  const keptAlive = [...bootstrapAddrs, ...relays.filter(r => !bootstrapAddrs.some(b => b.equals(r)))]
  // libp2p's bootstrap discovery needs peer IDs; the peer table dials the others by address
  const identified = keptAlive.filter(a => a.getComponents().some(c => c.code === CODE_P2P))
  checkInt('maxConnections', init.maxConnections, 1)
  checkInt('pingIntervalMs', init.pingIntervalMs, 1)
  const mdnsInit = init.mdns === true ? {} : init.mdns === false ? undefined : init.mdns
  if (mdnsInit != null) checkMdnsInit(mdnsInit)
  checkReconnectInit(init.reconnect ?? {})
  const useQuic = init.quic ?? true
  const allowPrivate = init.allowPrivateAddresses ?? true

  const listenAddrs = listen.map(a => a.toString()).filter(a => useQuic || !a.includes('/quic'))
  // each bare /p2p-circuit listen address asks the relay transport for one reservation on a connected relay
  for (let i = listenAddrs.filter(a => a === '/p2p-circuit').length; i < relays.length; i++) listenAddrs.push('/p2p-circuit')

  // Relay search runs libp2p's random walk, which loops on DHT lookups; with an empty routing table
  // and zero-peer queries allowed each lookup returns at once and the loop starves the event loop.
  // Such nodes wait for a first DHT peer instead (their relays are DHT peers).
  const searchesRelays = listenAddrs.includes('/p2p-circuit')

  const peerDiscovery: Array<(components: any) => PeerDiscovery> = []
  if (identified.length > 0) peerDiscovery.push(bootstrap({ list: identified.map(a => a.toString()), timeout: 0 }))
  const maxConnections = init.maxConnections ?? DEFAULT_MAX_CONNECTIONS
  // libp2p refuses inbound connections only beyond this hard ceiling; the peer table prunes back to maxConnections
  const hardCeiling = maxConnections + Math.max(MIN_CONNECTION_HEADROOM, Math.ceil(maxConnections * CONNECTION_HEADROOM))
  if (mdnsInit != null) peerDiscovery.push(mdnsDiscovery(mdnsInit, maxConnections))

  const services: Record<string, unknown> = {
    // libp2p's standard ids (/ipfs/id/1.0.0, /ipfs/ping/1.0.0): any libp2p node can identify us
    identify: identify(),
    identifyPush: identifyPush(),
    ping: ping(),
    dht: kadDHT({
      protocol: DHT_PROTOCOL,
      kBucketSize: K_BUCKET_SIZE,
      alpha: DHT_ALPHA,
      clientMode: init.dhtClientMode ?? false,
      peerInfoMapper: allowPrivate ? passthroughMapper : removePrivateAddressesMapper,
      allowQueryWithZeroPeers: !searchesRelays,
      // documented in seconds; kad-dht 16 enforces expiry through reprovide.validity (ms)
      providers: { provideValidity: PROVIDER_VALIDITY_MS / 1000 },
      reprovide: {
        validity: PROVIDER_VALIDITY_MS,
        // a record of ours is re-provided once it is this close to expiry, i.e. REPUBLISH_INTERVAL_MS after publication
        threshold: PROVIDER_VALIDITY_MS - REPUBLISH_INTERVAL_MS,
        interval: REPROVIDE_CHECK_INTERVAL_MS
      }
    }),
    peers: peerTable({ bootstrap: keptAlive, reconnect: init.reconnect, maxConnections }),
    ...(init.relayServer != null && init.relayServer !== false ? { relay: circuitRelayServer(relayServerInit(init.relayServer)) } : {}),
    ...(init.services ?? {})
  }

  return createLibp2p<P2PServices & T>({
    privateKey: init.privateKey,
    ...(init.userAgent != null ? { nodeInfo: { userAgent: init.userAgent } } : {}),
    ...(init.metrics != null ? { metrics: init.metrics } : {}),
    // in memory like libp2p's default, but a stored value never pins a shared Buffer-pool slab
    datastore: new OwnedValueDatastore(),
    addresses: { listen: listenAddrs, announce: announce.map(a => a.toString()) },
    transports: [tcp(), ...(useQuic ? [quic()] : []), circuitRelayTransport()],
    // Noise first, TLS 1.3 for peers that offer only TLS (multistream-select takes the dialer's
    // first that both speak). TLS moves bulk bytes for ~10 % less CPU (bench:swarm, one
    // downloader: 9.8-10.7 against 11.2-11.7 CPU-s/GB), but through js-libp2p's TLS socket
    // adapter a stream opens slower and a DHT lookup costs more: bench:dht at N = 100, serial
    // stream open p50 14.4 ms against 5.7, 130 ms of CPU per lookup against 103
    connectionEncrypters: [noise({ crypto: noiseCrypto }), cachingTls()],
    streamMuxers: [yamux()],
    peerDiscovery,
    connectionManager: {
      maxConnections: hardCeiling,
      // a local cluster dials one bootstrap peer from many processes at once
      inboundConnectionThreshold: 1000,
      maxIncomingPendingConnections: 100,
      // libp2p's own reconnect queue serves peers others tag `keep-alive*` (e.g. circuit relays we hold a reservation on)
      reconnectRetryInterval: init.reconnect?.initialDelayMs ?? RECONNECT_INITIAL_DELAY_MS,
      reconnectBackoffFactor: init.reconnect?.factor ?? RECONNECT_BACKOFF_FACTOR
    },
    connectionMonitor: {
      enabled: true,
      pingInterval: init.pingIntervalMs ?? PING_INTERVAL_MS,
      pingTimeout: { minTimeout: PING_TIMEOUT_MIN_MS }
    },
    connectionGater: connectionGater(allowPrivate, init.denyPeer),
    services: services as ServiceFactoryMap<P2PServices & T>
  })
}
