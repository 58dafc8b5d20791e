import { ProviderSearch, type ConnectedPeers, type ProviderSource } from './provider-search.js'
import type { DhtManager } from '@codio/dht'
import type { ChunkExchange } from '@codio/exchange'
import type { P2PNode } from '@codio/p2p'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

/** Longest provider lookup before a content counts as unknown, when `lookupTimeoutMs` is unset (ms). */
export const DEFAULT_LOOKUP_TIMEOUT_MS = 10_000

export interface ProviderSearchOptions {
  /** The lookup's time limit (ms). */
  timeoutMs: number
  /** Ends the lookup early. */
  signal?: AbortSignal
  /**
   * Ask the connected peers (want-have) before the DHT walk. Default true; a rediscovery round
   * leaves them out (they were asked at the start, and peer exchange names every swarm peer).
   */
  connected?: boolean
}

/** Starts a provider lookup of `contentId` on the peer's sources. */
export type ProviderSearches = (contentId: CID, opts: ProviderSearchOptions) => ProviderSearch

export interface ProviderSearchesComponents {
  node: P2PNode<{ exchange: Pick<ChunkExchange, 'has'> }>
  dht: Pick<DhtManager, 'findProviders'>
  /** Asked first (the tracker), when there is one. */
  providerSource?: ProviderSource
  /** Peers never named as providers (banned peers). */
  excluded: (peer: PeerId) => boolean
}

/**
 * The one way the parts of a peer look for providers: a {@link ProviderSearch} over the
 * tracker (when configured), the connected peers asked over the chunk exchange's want-have,
 * then the DHT, with excluded peers left out whatever names them.
 */
export function providerSearches (components: ProviderSearchesComponents): ProviderSearches {
  const { node, dht, providerSource, excluded } = components
  const connectedPeers: ConnectedPeers = {
    peers: () => node.getPeers(),
    has: async (peer, cid, signal) => await node.services.exchange.has(peer, cid, { signal })
  }
  return (contentId, { timeoutMs, signal, connected = true }) => new ProviderSearch(node, dht, contentId, timeoutMs, signal, {
    tracker: providerSource,
    connected: connected ? connectedPeers : undefined,
    excluded
  })
}
