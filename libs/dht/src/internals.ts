/**
 * Reads of kad-dht (v16) state that its public `KadDHT` interface does not type. The concrete
 * class (`@libp2p/kad-dht/src/kad-dht.ts`) has public fields `providers: Providers` and
 * `routingTable: RoutingTable`; `Providers` keeps its datastore and key prefix in private fields.
 * Every read here is optional-chained: against another DHT implementation the helpers return
 * `undefined` and the manager says so in its stats instead of crashing.
 */
import type { AbortOptions, PeerId } from '@libp2p/interface'
import type { KadDHT, QueryEvent } from '@libp2p/kad-dht'
import type { CID } from 'multiformats/cid'

interface ProvidersStore {
  getProviders?: (cid: CID, options?: AbortOptions) => Promise<PeerId[]>
  addProvider?: (cid: CID, provider: PeerId, options?: AbortOptions) => Promise<void>
  datastore?: { query: (q: { prefix?: string, keysOnly?: boolean }, options?: AbortOptions) => AsyncIterable<unknown> }
  datastorePrefix?: string
}

interface RoutingTableInternals {
  size?: number
  remove?: (peer: PeerId, options?: AbortOptions) => Promise<void>
  pingContact?: (contact: { peerId: PeerId, kadId: Uint8Array, lastPing: number }, options?: AbortOptions) => Promise<boolean>
  kb?: { toIterable?: () => Iterable<{ peerId: PeerId, kadId?: Uint8Array, lastPing?: number }> }
  closestPeers?: (kadId: Uint8Array, options?: { count?: number }) => PeerId[]
}

/** kad-dht's wire message as its `Network` takes it (`src/message/dht.ts`: `type` is the enum's name). */
interface AddProviderMessage {
  type: 'ADD_PROVIDER'
  key: Uint8Array
  providers: Array<{ id: Uint8Array, multiaddrs: Uint8Array[] }>
  closer: []
}

interface NetworkInternals {
  sendMessage?: (to: PeerId, msg: AddProviderMessage, options: AbortOptions & { path: QueryPath }) => AsyncIterable<QueryEvent>
}

interface QueryPath { index: number, queued: number, running: number, total: number }

interface KadDhtInternals {
  network?: NetworkInternals
  providers?: ProvidersStore
  routingTable?: RoutingTableInternals & { add?: (peer: PeerId, options?: AbortOptions) => Promise<void> }
  protocol?: string
}

/** The DHT's protocol id (kad-dht's public `protocol` field), or undefined. */
export function dhtProtocol (dht: KadDHT): string | undefined {
  const p = internals(dht).protocol
  return typeof p === 'string' ? p : undefined
}

/**
 * Offers `peer` to the routing table as kad-dht does when identify shows a peer speaking the
 * DHT protocol: pinged, then added if its bucket has room. False when the table cannot be written.
 */
export async function addToRoutingTable (dht: KadDHT, peer: PeerId, options?: AbortOptions): Promise<boolean> {
  const table = internals(dht).routingTable
  if (table?.add == null) return false
  await table.add.call(table, peer, options)
  return true
}

function internals (dht: KadDHT): KadDhtInternals {
  return dht as unknown as KadDhtInternals
}

/** Routing-table size, or undefined when the DHT has no single routing table. */
export function routingTableSize (dht: KadDHT): number | undefined {
  const size = internals(dht).routingTable?.size
  return typeof size === 'number' ? size : undefined
}

/** Peers in the routing table (excluding this node), or undefined when not readable. */
export function routingTablePeers (dht: KadDHT): PeerId[] | undefined {
  const kb = internals(dht).routingTable?.kb
  if (kb?.toIterable == null) return undefined
  return [...kb.toIterable()].map(p => p.peerId)
}

/** One routing-table entry: the peer, its Kademlia ID, when kad-dht last pinged it (ms since the epoch, 0 if never). */
export interface RoutingTableEntry {
  peerId: PeerId
  kadId: Uint8Array
  lastPing: number
}

/** Entries of the routing table (excluding this node), or undefined when not readable. */
export function routingTableEntries (dht: KadDHT): RoutingTableEntry[] | undefined {
  const kb = internals(dht).routingTable?.kb
  if (kb?.toIterable == null) return undefined
  return [...kb.toIterable()].map(p => ({ peerId: p.peerId, kadId: p.kadId ?? new Uint8Array(), lastPing: p.lastPing ?? 0 }))
}

/** The `count` routing-table peers closest to a Kademlia ID: a query's starting peers. */
export function routingTableClosest (dht: KadDHT, id: Uint8Array, count: number): PeerId[] | undefined {
  const table = internals(dht).routingTable
  if (table?.closestPeers == null) return undefined
  return table.closestPeers(id, { count })
}

/** This node's local provider records for `cid` (its own and those others stored here). */
export async function localProviders (dht: KadDHT, cid: CID, options?: AbortOptions): Promise<PeerId[] | undefined> {
  const store = internals(dht).providers
  if (store?.getProviders == null) return undefined
  return store.getProviders(cid, options)
}

/** Writes this node's own provider record without a network query; false when impossible. */
export async function addLocalProvider (dht: KadDHT, cid: CID, self: PeerId, options?: AbortOptions): Promise<boolean> {
  const store = internals(dht).providers
  if (store?.addProvider == null) return false
  await store.addProvider.call(store, cid, self, options)
  return true
}

/**
 * Number of provider records in this node's store (one per CID × provider, its own included),
 * or undefined when the store is not readable. Expired records of other peers stay until
 * kad-dht's reprovider sweeps them (every `reprovide.interval`, 1 h by default).
 */
export async function countProviderRecords (dht: KadDHT, options?: AbortOptions): Promise<number | undefined> {
  const store = internals(dht).providers
  if (store?.datastore == null || typeof store.datastorePrefix !== 'string') return undefined
  let n = 0
  for await (const _ of store.datastore.query({ prefix: store.datastorePrefix }, options)) n++ // eslint-disable-line @typescript-eslint/no-unused-vars
  return n
}

/** Drops `peer` from the routing table; false when the table cannot be written. */
export async function removeFromRoutingTable (dht: KadDHT, peer: PeerId): Promise<boolean> {
  const table = internals(dht).routingTable
  if (table?.remove == null) return false
  await table.remove.call(table, peer)
  return true
}

/**
 * Pings `peer` the way the routing table checks a contact (kad-dht's `pingContact`: the node's
 * ping service, dialling the peer if it is not connected). True when it answered, false when it
 * did not, undefined when the table cannot ping.
 */
export async function pingRoutingTablePeer (dht: KadDHT, peer: PeerId, kadId: Uint8Array, options?: AbortOptions): Promise<boolean | undefined> {
  const table = internals(dht).routingTable
  if (table?.pingContact == null) return undefined
  return table.pingContact.call(table, { peerId: peer, kadId, lastPing: 0 }, options)
}

/**
 * Sends one ADD_PROVIDER naming `self` (its ID and `multiaddrs`) as a provider of `cid` to
 * `peer`, as kad-dht's own provide does for each of the K closest peers it found
 * (`Network.sendMessage`: dial or reuse a connection, write the message, no reply expected).
 * Yields kad-dht's query events (DIAL_PEER, SEND_QUERY, then PEER_RESPONSE once written);
 * throws what the dial or write threw. Undefined when the DHT's network cannot be reached.
 */
export function sendAddProvider (dht: KadDHT, peer: PeerId, cid: CID, self: PeerId, multiaddrs: Array<{ bytes: Uint8Array }>, options: AbortOptions): AsyncIterable<QueryEvent> | undefined {
  const network = internals(dht).network
  if (network?.sendMessage == null) return undefined
  const msg: AddProviderMessage = {
    type: 'ADD_PROVIDER',
    key: cid.multihash.bytes,
    providers: [{ id: self.toMultihash().bytes, multiaddrs: multiaddrs.map(m => m.bytes) }],
    closer: []
  }
  return network.sendMessage.call(network, peer, msg, { ...options, path: { index: -1, queued: 0, running: 0, total: 0 } })
}
