import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { until } from '@codio/testing'
import { localProviders } from '../src/internals.js'
import { topUpProvide } from '../src/top-up.js'
import { sortByDistance } from '../src/xor.js'
import { randomCid, startCluster, type Cluster } from './helpers.js'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

/** A provide's top-up: ADD_PROVIDER to the next closest peers, in XOR order, skipping the dead. */
describe('topUpProvide: 1 bootstrap node + 6 nodes, one of them stopped', () => {
  let cluster: Cluster
  const provider = 1
  const dead = 6

  beforeAll(async () => {
    cluster = await startCluster(7)
    const { nodes } = cluster
    // the provider knows every node's address, as after a lookup that named them
    for (const node of nodes.slice(2)) await nodes[provider].peerStore.merge(node.peerId, { multiaddrs: node.getMultiaddrs() })
    await nodes[dead].stop()
  }, 60_000)

  afterAll(async () => {
    await cluster?.stop()
  })

  const holdersOf = async (cid: CID): Promise<number[]> => {
    const out: number[] = []
    for (let j = 2; j < dead; j++) {
      const records = await localProviders(cluster.nodes[j].services.dht, cid) ?? []
      if (records.some(p => p.equals(cluster.nodes[provider].peerId))) out.push(j)
    }
    return out
  }

  const topUp = async (cid: CID, want: number, holders: Set<string>, failed: Set<string>, maxSends = 10): Promise<number> => {
    const { nodes } = cluster
    return topUpProvide({
      dht: nodes[provider].services.dht,
      cid,
      self: nodes[provider].peerId,
      multiaddrs: nodes[provider].getMultiaddrs(),
      holders,
      // the provider itself is named too (a FIND_NODE answer can name the asker): never sent to
      candidates: nodes.slice(1).map(n => n.peerId),
      failed,
      want,
      concurrency: 1,
      maxSends,
      signal: AbortSignal.timeout(20_000)
    })
  }

  it('sends to the closest candidates first until `want` hold the record; the dead one fails and is marked', async () => {
    const { nodes } = cluster
    // a CID whose closest candidate is the dead node, so the first send fails
    let cid: CID
    let order: PeerId[]
    do {
      cid = await randomCid()
      order = await sortByDistance(cid.multihash.bytes, nodes.slice(2).map(n => n.peerId))
    } while (!order[0].equals(nodes[dead].peerId))
    const index = (p: PeerId): number => nodes.findIndex(n => n.peerId.equals(p))
    const holders = new Set<string>()
    const failed = new Set<string>()
    const tried = await topUp(cid, 3, holders, failed)

    expect(tried).toBe(4)
    expect([...failed]).toEqual([nodes[dead].peerId.toString()])
    const expected = order.slice(1, 4).map(index)
    expect([...holders].sort()).toEqual(expected.map(j => nodes[j].peerId.toString()).sort())
    // each holder stores a record naming the provider (the sender does not wait for that); the
    // live peer past `want` got nothing
    const want = [...expected].sort((a, b) => a - b)
    await until(async () => (await holdersOf(cid)).length >= want.length, 10_000, 'records stored')
    expect(await holdersOf(cid)).toEqual(want)
  }, 60_000)

  it('skips holders and failed peers, and stops at maxSends even when `want` is not reached', async () => {
    const { nodes } = cluster
    const cid = await randomCid()
    const holders = new Set([nodes[2].peerId.toString()])
    const failed = new Set([nodes[3].peerId.toString()])
    // candidates left: 4, 5 and the dead 6; one send only
    const tried = await topUp(cid, 10, holders, failed, 1)
    expect(tried).toBe(1)
    expect(holders.size + failed.size).toBe(3)

    // no bound: every candidate left is tried once; the live ones hold the record, the dead one failed
    const rest = await topUp(cid, 10, holders, failed)
    expect(rest).toBe(2)
    expect(holders).toEqual(new Set([2, 4, 5].map(j => nodes[j].peerId.toString())))
    expect(failed).toEqual(new Set([3, dead].map(j => nodes[j].peerId.toString())))
    // node 2 was a holder by assumption and node 3 was skipped as failed: neither was sent to
    await until(async () => (await holdersOf(cid)).length >= 2, 10_000, 'records stored')
    expect(await holdersOf(cid)).toEqual([4, 5])
  }, 60_000)
})
