import { GossipPublisher, type GossipPublisherInit } from '@codio/tracker'
import type { ChunkExchange } from '@codio/exchange'
import type { P2PNode } from '@codio/p2p'
import type { Logger } from '@codio/telemetry'
import type { PrivateKey } from '@libp2p/interface'
import type { SwarmHost } from '@codio/swarm'

export interface PeerGossipComponents {
  node: Pick<P2PNode, 'getMultiaddrs'>
  exchange: Pick<ChunkExchange, 'peerStats' | 'serveFailures'>
  /** Holdings (availability) and measured download rates (observations). */
  swarm: Pick<SwarmHost, 'holdings' | 'rates'>
  /** Signs every message: the tracker refuses gossip in this node's name from anyone else. */
  privateKey: PrivateKey
  /** When the peer started, Unix ms (uptime). */
  startedAt: number
  log: Logger
}

/** Read at start, so that a reconfigured gossip period stays for the next start. */
export interface PeerGossipInit {
  role: string
  /** NATS servers (`tracker.nats`); none: no gossip. `gossipIntervalMs` default 30 000. */
  tracker?: { nats?: string[], gossipIntervalMs?: number }
}

/**
 * This peer's gossip to the tracker over NATS, when `tracker.nats` is set: availability
 * (what the swarm host holds), counters and per-peer observations, signed with the node's key
 * ({@link GossipPublisher}). Without NATS servers every method is a no-op.
 */
export class PeerGossip {
  private publisher?: GossipPublisher

  constructor (private readonly components: PeerGossipComponents, private readonly init: PeerGossipInit) {}

  /** Connect and publish periodically; `natsOptions` from `natsAuthOptions` (read before the node starts). */
  start (natsOptions: GossipPublisherInit['natsOptions']): void {
    const nats = this.init.tracker?.nats
    if (nats == null || nats.length === 0) return
    const { node, exchange, swarm, privateKey, startedAt } = this.components
    const log = this.components.log.child({ component: 'gossip' })
    this.publisher = new GossipPublisher({
      nats,
      natsOptions,
      privateKey,
      roles: [this.init.role],
      multiaddrs: () => node.getMultiaddrs().map(a => a.toString()),
      availability: async () => await swarm.holdings(),
      metrics: () => {
        let chunksServed = 0
        let bytesServed = 0
        const observations = []
        for (const [peerId, st] of exchange.peerStats()) {
          chunksServed += st.chunksSent
          bytesServed += st.bytesSent
          if (st.chunksReceived + st.failures > 0) {
            observations.push({ peerId, bytesPerSecond: swarm.rates.down(peerId), failures: st.failures + st.verificationFailures, successes: st.chunksReceived })
          }
        }
        return { uptimeSeconds: (Date.now() - startedAt) / 1000, chunksServed, chunksFailed: exchange.serveFailures, bytesServed, observations }
      },
      intervalMs: this.init.tracker?.gossipIntervalMs,
      log: { warn: (o, m) => log.warn(o, m), debug: (o, m) => log.debug(o, m) }
    })
    this.publisher.start()
  }

  /** What this node holds changed: publish soon (debounced). */
  changed (): void {
    this.publisher?.changed()
  }

  /** Publish now; resolves once a snapshot taken after the call went out. */
  async publishNow (): Promise<void> {
    await this.publisher?.publishNow()
  }

  /** The period of the publications (ms). */
  setIntervalMs (ms: number): void {
    this.publisher?.setIntervalMs(ms)
  }

  async stop (): Promise<void> {
    await this.publisher?.stop()
  }
}
