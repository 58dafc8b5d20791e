import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { kadId } from '../src/index.js'
import { until } from '@codio/testing'
import { startCluster, type Cluster } from './helpers.js'
import type { PeerId } from '@libp2p/interface'

/** The test's own Kademlia distance: SHA-256(key) XOR SHA-256(peer multihash), as a byte string. */
function distance (key: Uint8Array, peer: PeerId): Buffer {
  const a = createHash('sha256').update(key).digest()
  const b = createHash('sha256').update(peer.toMultihash().bytes).digest()
  return Buffer.from(a.map((x, i) => x ^ b[i]))
}

describe('closestPeers on 10 nodes', () => {
  let cluster: Cluster

  beforeAll(async () => {
    cluster = await startCluster(10, { queryTimeoutMs: 20_000 })
    // let every table hold all 9 others, so the lookup starts from the whole network
    await until(async () => {
      const sparse = cluster.nodes.filter(n => n.services.dht.routingTable.size < 9)
      await Promise.all(sparse.map(async n => cluster.managers[cluster.nodes.indexOf(n)].refresh()))
      return sparse.length === 0
    }, 45_000, 'routing tables hold all 9 peers')
  }, 60_000)

  afterAll(async () => {
    await cluster?.stop()
  })

  it('returns the true K closest peers in ascending XOR order, never the asking node', async () => {
    for (const asker of [3, 0]) {
      const key = crypto.getRandomValues(new Uint8Array(32))
      const self = cluster.nodes[asker].peerId
      const expected = cluster.nodes.map(n => n.peerId)
        .filter(p => !p.equals(self)) // kad-dht's lookup never returns the querying node
        .sort((x, y) => Buffer.compare(distance(key, x), distance(key, y)))

      const got = await cluster.managers[asker].closestPeers(key)
      const dist = got.map(p => distance(key, p))
      for (let i = 1; i < dist.length; i++) expect(Buffer.compare(dist[i - 1], dist[i])).toBeLessThan(0)
      // K = 20 > 9 other nodes: the K closest are all of them, in order
      expect(got.map(p => p.toString())).toEqual(expected.map(p => p.toString()))

      // kadId() is kad-dht's own key conversion: its routing table ranks the same way
      const table = cluster.nodes[asker].services.dht.routingTable as unknown as { closestPeers: (id: Uint8Array, o: { count: number }) => PeerId[] }
      expect(table.closestPeers(await kadId(key), { count: 9 }).map(p => p.toString())).toEqual(expected.map(p => p.toString()))

      const top3 = await cluster.managers[asker].closestPeers(key, { count: 3 })
      expect(top3.map(p => p.toString())).toEqual(expected.slice(0, 3).map(p => p.toString()))
    }
    expect(cluster.managers[3].stats().queries.closestPeers).toBe(2)
  })
})
