/** Kademlia DHT protocol id of the Codio network (kept apart from the public IPFS DHT). */
export const DHT_PROTOCOL = '/codio/kad/1.0.0'

/** Kademlia replication parameter K (the Kademlia paper, §2.2). */
export const K_BUCKET_SIZE = 20

/** Default listen addresses: TCP and QUIC-v1 on loopback, OS-chosen ports. */
export const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/udp/0/quic-v1']

/** Default ceiling on open connections. */
export const DEFAULT_MAX_CONNECTIONS = 50
