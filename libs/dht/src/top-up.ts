import { sendAddProvider } from './internals.js'
import { sortByDistance } from './xor.js'
import type { PeerId } from '@libp2p/interface'
import type { KadDHT, QueryEvent } from '@libp2p/kad-dht'
import type { CID } from 'multiformats/cid'

export interface TopUpInit {
  dht: KadDHT
  cid: CID
  /** This node: the provider the record names, and the addresses it is reached at. */
  self: PeerId
  multiaddrs: Array<{ bytes: Uint8Array }>
  /** Peers that hold the record already (their ADD_PROVIDER was written); grows with each send that succeeds. */
  holders: Set<string>
  /** Peers met by this provide: named in a FIND_NODE answer, or in the routing table near the CID. */
  candidates: Iterable<PeerId>
  /** Peers an RPC of this provide failed against: not tried again; grows with each send that fails. */
  failed: Set<string>
  /** Holders wanted (K). */
  want: number
  /** Sends in flight at once (α). */
  concurrency: number
  /** Sends tried at most. */
  maxSends: number
  signal: AbortSignal
  onQueryEvent?: (event: QueryEvent) => void
}

/**
 * Completes a provide whose lookup ended with fewer than `want` holders: sends ADD_PROVIDER to
 * the candidates closest to the CID (XOR distance of Kademlia IDs) that neither hold the record
 * nor failed, α at a time, until `want` hold it, `maxSends` were tried or `signal` aborts.
 *
 * Kademlia stores a value at the K closest nodes that answer (Maymounkov & Mazières 2002, §2.3:
 * a node that fails to respond is replaced by the next closest). kad-dht's lookup follows only
 * peers strictly closer to the key than the peer that named them, so when some of the K closest
 * in the tables are dead (after churn, until every table has dropped them) its walk ends with the
 * live ones among them and never asks the next closest: a provide reached 16 of 20 in bench:dht.
 *
 * @returns the number of sends tried. Never throws: a failed send (a QUERY_ERROR event or a throw) marks its peer failed.
 */
export async function topUpProvide (init: TopUpInit): Promise<number> {
  const { holders, failed, signal } = init
  const seen = new Set<string>()
  const fresh: PeerId[] = []
  for (const peer of init.candidates) {
    const key = peer.toString()
    if (seen.has(key) || holders.has(key) || failed.has(key) || peer.equals(init.self)) continue
    seen.add(key)
    fresh.push(peer)
  }
  const order = (await sortByDistance(init.cid.multihash.bytes, fresh)).slice(0, init.maxSends)
  let next = 0
  const worker = async (): Promise<void> => {
    while (holders.size < init.want && next < order.length && !signal.aborted) {
      const peer = order[next++]
      const key = peer.toString()
      try {
        const events = sendAddProvider(init.dht, peer, init.cid, init.self, init.multiaddrs, { signal })
        if (events == null) return
        for await (const event of events) {
          init.onQueryEvent?.(event)
          if (event.name === 'PEER_RESPONSE') holders.add(key)
          // kad-dht's network turns a failed dial or write into a QUERY_ERROR event, not a throw
          if (event.name === 'QUERY_ERROR') failed.add(key)
        }
      } catch {
        failed.add(key)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(init.concurrency, order.length) }, worker))
  return Math.min(next, order.length)
}
