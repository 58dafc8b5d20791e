import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DhtQueryTimeoutError, PeerNotFoundError, type ProviderInfo } from '../src/index.js'
import { until } from '@codio/testing'
import { randomCid, startCluster, tcpAddr, type Cluster } from './helpers.js'
import type { QueryEvent } from '@libp2p/kad-dht'

describe('DhtManager on 3 nodes', () => {
  let cluster: Cluster

  beforeAll(async () => {
    cluster = await startCluster(3, { queryTimeoutMs: 10_000 })
  })

  afterAll(async () => {
    await cluster?.stop()
  })

  it('one node provides a CID, another finds it; stats and providing() follow', async () => {
    const [, a, b] = cluster.managers
    const [, nodeA] = cluster.nodes
    const cid = await randomCid()

    const { holders } = await a.provide(cid)
    expect(holders).toBeGreaterThanOrEqual(1)
    expect(a.providing().map(c => c.toString())).toEqual([cid.toString()])

    const found: ProviderInfo[] = []
    for await (const p of b.findProviders(cid)) found.push(p)
    expect(found.map(p => p.id.toString())).toEqual([nodeA.peerId.toString()])
    expect(found[0].multiaddrs.map(m => m.toString())).toContain(tcpAddr(nodeA))

    await until(() => a.stats().providerRecords >= 1, 5000, 'provider records counted')
    const sa = a.stats()
    expect(sa.providing).toBe(1)
    expect(sa.queries.provide).toBe(1)
    // every closest peer it found got the record, and the table holds fewer than K: one pass
    expect(sa.provideRetries).toBe(0)
    expect(sa.pendingQueries).toBe(0)
    expect(sa.providerRecords).toBeGreaterThanOrEqual(1)
    expect(sa.routingTableSize).toBeGreaterThanOrEqual(1)
    expect(sa.peers).toBeGreaterThanOrEqual(1)
    const sb = b.stats()
    expect(sb.queries.findProviders).toBe(1)
    expect(sb.providing).toBe(0)
    expect(sb.pendingQueries).toBe(0)

    // own record is in the local store until stopProviding removes it
    expect((await a.localProviders(cid)).map(p => p.toString())).toContain(nodeA.peerId.toString())
    await a.stopProviding(cid)
    expect(a.providing()).toEqual([])
    expect(a.stats().providing).toBe(0)
    expect((await a.localProviders(cid)).map(p => p.toString())).not.toContain(nodeA.peerId.toString())
  })

  it('after stopProviding, a node\'s own lookup no longer names it, though others still hold its record until the TTL', async () => {
    const [boot, a] = cluster.managers
    const [, nodeA] = cluster.nodes
    const cid = await randomCid()
    await a.provide(cid)
    const named = async (m: typeof a): Promise<string[]> => {
      const out: string[] = []
      for await (const p of m.findProviders(cid)) out.push(p.id.toString())
      return out
    }
    expect(await named(a)).toContain(nodeA.peerId.toString())
    await a.stopProviding(cid)
    // a remote copy of the record lives on (Kademlia has no delete) ...
    expect(await named(boot)).toContain(nodeA.peerId.toString())
    // ... but the node that withdrew it knows it is stale
    expect(await named(a)).not.toContain(nodeA.peerId.toString())
    expect((await a.localProviders(cid)).map(p => p.toString())).not.toContain(nodeA.peerId.toString())
  })

  it('forgetPeer drops a peer from the routing table', async () => {
    const [, a] = cluster.managers
    const [, , nodeB] = cluster.nodes
    await until(() => a.routingTablePeers().some(p => p.equals(nodeB.peerId)), 5000, 'b in a\'s routing table')
    await a.forgetPeer(nodeB.peerId)
    expect(a.routingTablePeers().some(p => p.equals(nodeB.peerId))).toBe(false)
  })

  it('findProviders honours limit and dedups; a lookup for an unprovided CID ends empty', async () => {
    const [boot, a, b] = cluster.managers
    const cid = await randomCid()
    await a.provide(cid)
    await b.provide(cid)
    const all: string[] = []
    for await (const p of boot.findProviders(cid)) all.push(p.id.toString())
    expect(new Set(all).size).toBe(all.length)
    expect(all.sort()).toEqual([cluster.nodes[1].peerId.toString(), cluster.nodes[2].peerId.toString()].sort())
    const limited: string[] = []
    for await (const p of boot.findProviders(cid, { limit: 1 })) limited.push(p.id.toString())
    expect(limited).toHaveLength(1)

    const none: ProviderInfo[] = []
    for await (const p of b.findProviders(await randomCid())) none.push(p)
    expect(none).toEqual([])
    expect(b.stats().pendingQueries).toBe(0)
  })

  it('findProvidersTraced reports first-provider latency, hops and peers contacted', async () => {
    const [boot, a] = cluster.managers
    const cid = await randomCid()
    await a.provide(cid)
    // ADD_PROVIDER is fire-and-forget: wait until boot has written the record
    await until(async () => (await boot.localProviders(cid)).some(p => p.equals(cluster.nodes[1].peerId)), 10_000, 'record at boot')
    const trace = await boot.findProvidersTraced(cid)
    expect(trace.providers.map(p => p.id.toString())).toEqual([cluster.nodes[1].peerId.toString()])
    expect(trace.timedOut).toBe(false)
    expect(trace.firstMs).toBeGreaterThanOrEqual(0)
    expect(trace.firstMs!).toBeLessThanOrEqual(trace.totalMs)
    // boot holds the record itself (3 nodes < K): its own store answers, 0 hops
    expect(trace.hops).toBe(0)
    expect(trace.peersContactedBeforeFirst).toBe(0)
  })

  it('findPeer returns the addresses of a node it is not connected to, through the network', async () => {
    const [, nodeA, nodeB] = cluster.nodes
    const a = cluster.managers[1]
    await nodeA.hangUp(nodeB.peerId)
    await until(() => nodeA.getConnections(nodeB.peerId).length === 0, 10_000, 'hang up')
    await nodeA.peerStore.delete(nodeB.peerId)
    expect(nodeA.getConnections(nodeB.peerId)).toHaveLength(0)

    const events: QueryEvent[] = []
    const info = await a.findPeer(nodeB.peerId, { onQueryEvent: e => events.push(e) })
    expect(info.id.equals(nodeB.peerId)).toBe(true)
    expect(info.multiaddrs.map(m => m.toString())).toContain(tcpAddr(nodeB))
    const final = events.find(e => e.name === 'FINAL_PEER')
    expect(final).toBeDefined()
    // answered by another peer, not from the local peer store
    expect(final!.name === 'FINAL_PEER' && final!.from.equals(nodeA.peerId)).toBe(false)
    expect(a.stats().queries.findPeer).toBe(1)
  })

  it('findPeer of an unknown peer id throws PeerNotFoundError within the time limit', async () => {
    const { DhtManager } = await import('../src/index.js')
    const short = new DhtManager(cluster.nodes[2], { queryTimeoutMs: 3000 })
    const unknown = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const t0 = Date.now()
    const err = await short.findPeer(unknown).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(PeerNotFoundError)
    expect((err as PeerNotFoundError).code).toBe('ERR_PEER_NOT_FOUND')
    expect(Date.now() - t0).toBeLessThan(3000 + 1000)
  })

  it('a query cut by queryTimeoutMs throws DhtQueryTimeoutError (findPeer) or just ends (findProviders)', async () => {
    const { DhtManager } = await import('../src/index.js')
    const tiny = new DhtManager(cluster.nodes[1], { queryTimeoutMs: 1 })
    const unknown = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const err = await tiny.findPeer(unknown).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(DhtQueryTimeoutError)
    expect((err as DhtQueryTimeoutError).operation).toBe('findPeer')
    const trace = await tiny.findProvidersTraced(await randomCid())
    expect(trace.providers).toEqual([])
    expect(trace.timedOut).toBe(true)
    expect(tiny.stats().pendingQueries).toBe(0)
  })

  it('onQueryDone reports each query\'s operation, duration and outcome: ok, timeout, error', async () => {
    const { DhtManager } = await import('../src/index.js')
    const done: Array<{ operation: string, ms: number, outcome: string }> = []
    const onQueryDone = (operation: string, ms: number, outcome: string): void => { done.push({ operation, ms, outcome }) }
    const [, a, b] = cluster.nodes
    const m = new DhtManager(a, { queryTimeoutMs: 10_000, onQueryDone })
    const cid = await randomCid()
    const t0 = performance.now()
    await m.provide(cid)
    const provideMs = performance.now() - t0
    for await (const _ of m.findProviders(cid, { limit: 1 })) { /* a reader that stops at the first */ }
    await m.closestPeers(cid.multihash.bytes)
    await m.findPeer(b.peerId)
    // an aborted lookup is an error, not a timeout; one cut by queryTimeoutMs is a timeout
    const aborted = new AbortController()
    aborted.abort(new Error('caller gave up'))
    await expect(m.findPeer(b.peerId, { signal: aborted.signal })).rejects.toThrow()
    const tiny = new DhtManager(a, { queryTimeoutMs: 1, onQueryDone })
    await expect(tiny.findPeer(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))).rejects.toBeInstanceOf(DhtQueryTimeoutError)
    for await (const _ of tiny.findProviders(await randomCid())) { /* ends at the timeout */ }
    expect(done.map(d => [d.operation, d.outcome])).toEqual([
      ['provide', 'ok'], ['findProviders', 'ok'], ['closestPeers', 'ok'], ['findPeer', 'ok'],
      ['findPeer', 'error'], ['findPeer', 'timeout'], ['findProviders', 'timeout']
    ])
    expect(done[0].ms).toBeGreaterThan(0)
    expect(done[0].ms).toBeLessThanOrEqual(provideMs)
    expect(() => new DhtManager(a, { onQueryDone: 'no' as any })).toThrow('onQueryDone must be a function')
    await m.stopProviding(cid)
  })
})
