import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { until } from '@codio/testing'
import { randomCid, startCluster, type Cluster } from './helpers.js'
import type { DhtManager } from '../src/index.js'
import type { CID } from 'multiformats/cid'

const N = 25
const K = 20

describe(`provider records on ${N} nodes`, () => {
  let cluster: Cluster

  beforeAll(async () => {
    cluster = await startCluster(N, { queryTimeoutMs: 30_000 })
    // tables fill through the DHT itself: kad-dht's self lookup on every node at start, and a
    // manager refresh (self lookup + random walk) on the provider and on any node still sparse
    await cluster.managers[1].refresh()
    const sparse = (): number[] => cluster.nodes.flatMap((n, i) => n.services.dht.routingTable.size < 10 || (i === 1 && n.services.dht.routingTable.size < K) ? [i] : [])
    const end = Date.now() + 60_000
    while (sparse().length > 0) {
      if (Date.now() > end) throw new Error(`routing tables still sparse: ${cluster.nodes.map(n => n.services.dht.routingTable.size).join(',')}`)
      await new Promise(resolve => setTimeout(resolve, 1000))
      const low = sparse()
      for (let i = 0; i < low.length; i += 4) await Promise.all(low.slice(i, i + 4).map(async j => cluster.managers[j].refresh()))
    }
  }, 120_000)

  afterAll(async () => {
    await cluster?.stop()
  })

  async function holdersOf (cid: CID): Promise<number[]> {
    const provider = cluster.nodes[1].peerId
    const held: number[] = []
    await Promise.all(cluster.managers.map(async (m: DhtManager, i) => {
      // each node's LOCAL provider store, no network
      if ((await m.localProviders(cid)).some(p => p.equals(provider))) held.push(i)
    }))
    return held.sort((a, b) => a - b)
  }

  it(`one provide puts the record on at least ${K} nodes (local stores checked)`, async () => {
    const cid = await randomCid()
    const { holders } = await cluster.managers[1].provide(cid)
    expect(holders).toBeGreaterThanOrEqual(K - 1) // K closest peers; one slow peer under load may miss it

    // ADD_PROVIDER is fire-and-forget: give the receivers a moment to write it
    await until(async () => (await holdersOf(cid)).filter(i => i !== 1).length >= holders, 10_000, 'records written')
    const held = await holdersOf(cid)
    expect(held).toContain(1) // the provider keeps its own record
    expect(held.filter(i => i !== 1)).toHaveLength(holders)
    expect(held.length).toBeGreaterThanOrEqual(K)

    // a node that does not hold the record finds it over the network, and the trace says how
    const outsider = cluster.managers.findIndex((_, i) => !held.includes(i))
    expect(outsider).toBeGreaterThanOrEqual(0)
    const trace = await cluster.managers[outsider].findProvidersTraced(cid)
    expect(trace.providers.map(p => p.id.toString())).toEqual([cluster.nodes[1].peerId.toString()])
    expect(trace.hops).toBeGreaterThanOrEqual(1)
    expect(trace.maxDepth).toBeGreaterThanOrEqual(trace.hops!)
    expect(trace.peersContactedBeforeFirst).toBeGreaterThanOrEqual(1)
    expect(trace.peersContacted).toBeGreaterThanOrEqual(trace.peersContactedBeforeFirst!)
    expect(trace.firstMs).toBeGreaterThan(0)
    expect(trace.firstMs!).toBeLessThanOrEqual(trace.totalMs)
    expect(trace.timedOut).toBe(false)

    // a holder answers from its own store
    const holder = held.find(i => i !== 1)!
    const local = await cluster.managers[holder].findProvidersTraced(cid, { limit: 1 })
    expect(local.hops).toBe(0)
    expect(local.providers).toHaveLength(1)
  })
})
