import { noise } from '@chainsafe/libp2p-noise'
import { quic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper, type SingleKadDHT } from '@libp2p/kad-dht'
import { ping, type Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { Identify } from '@libp2p/identify'
import type { PrivateKey, ServiceMap } from '@libp2p/interface'
import type { ServiceFactoryMap } from 'libp2p'
import { DEFAULT_LISTEN, DEFAULT_MAX_CONNECTIONS, DHT_PROTOCOL, K_BUCKET_SIZE } from './constants.js'
import { InvalidMultiaddrError } from './errors.js'

export interface P2PNodeInit<T extends ServiceMap = Record<never, never>> {
  /** Extra libp2p services (e.g. the chunk exchange), added beside the built-in ones. */
  services?: ServiceFactoryMap<T>
  /** The node's identity (see {@link loadOrCreatePeerKey}). */
  privateKey: PrivateKey
  /** Multiaddrs to listen on. Default: TCP and QUIC-v1 on 127.0.0.1, OS-chosen ports. */
  listen?: string[]
  /** Multiaddrs to announce instead of the listen addresses (e.g. behind NAT or in Kubernetes). */
  announce?: string[]
  /** Bootstrap peers, as full multiaddrs ending in `/p2p/<peer id>`. */
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
  /** Ceiling on open connections. Default 50. */
  maxConnections?: number
}

export type P2PServices = {
  /** One DHT on one protocol, so its routing table is visible (`dht.routingTable.size`). */
  dht: SingleKadDHT
  identify: Identify
  ping: Ping
}

export type P2PNode<T extends ServiceMap = Record<never, never>> = Libp2p<P2PServices & T>

function parseAddrs (what: string, addrs: string[]): string[] {
  for (const a of addrs) {
    try {
      multiaddr(a)
    } catch (err: any) {
      throw new InvalidMultiaddrError(`${what} address "${a}" is not a multiaddr: ${err.message}`, { cause: err })
    }
  }
  return addrs
}

/**
 * Build (not start) a libp2p node with Codio's stack: TCP and QUIC-v1 transports, Noise,
 * Yamux, identify, ping, and a Kademlia DHT on `/codio/kad/1.0.0` with K = 20 (Maymounkov &
 * Mazières 2002; libp2p kad-dht spec). Bootstrap peers are dialled at start.
 *
 * @throws InvalidMultiaddrError when a listen, announce or bootstrap address does not parse
 */
export async function createP2PNode<T extends ServiceMap = Record<never, never>> (init: P2PNodeInit<T>): Promise<P2PNode<T>> {
  const listen = parseAddrs('listen', init.listen ?? DEFAULT_LISTEN)
  const announce = parseAddrs('announce', init.announce ?? [])
  const bootstrapList = parseAddrs('bootstrap', init.bootstrap ?? [])
  const useQuic = init.quic ?? true
  const allowPrivate = init.allowPrivateAddresses ?? true

  return createLibp2p<P2PServices & T>({
    privateKey: init.privateKey,
    addresses: { listen: useQuic ? listen : listen.filter(a => !a.includes('/quic')), announce },
    transports: useQuic ? [tcp(), quic()] : [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: bootstrapList.length > 0 ? [bootstrap({ list: bootstrapList, timeout: 0 })] : [],
    connectionManager: {
      maxConnections: init.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      // a local cluster dials one bootstrap peer from many processes at once
      inboundConnectionThreshold: 1000,
      maxIncomingPendingConnections: 100
    },
    connectionGater: allowPrivate ? { denyDialMultiaddr: () => false } : undefined,
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        kBucketSize: K_BUCKET_SIZE,
        clientMode: init.dhtClientMode ?? false,
        peerInfoMapper: allowPrivate ? passthroughMapper : removePrivateAddressesMapper,
        allowQueryWithZeroPeers: true
      }),
      ...(init.services ?? {})
    } as ServiceFactoryMap<P2PServices & T>
  })
}
