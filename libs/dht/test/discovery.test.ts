import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { until } from '@codio/testing'
import { startCluster, type Cluster } from './helpers.js'

describe('peer discovery through the DHT: 1 bootstrap node + 5 nodes', () => {
  let cluster: Cluster

  beforeAll(async () => {
    // every node knows only the bootstrap node's address; the managers' refresh timers (self
    // lookup + random walk every second) and kad-dht's own self lookup do the rest
    cluster = await startCluster(6, { queryTimeoutMs: 10_000, refreshIntervalMs: 1000 })
    cluster.managers.forEach(m => { m.start() })
  }, 60_000)

  afterAll(async () => {
    await cluster?.stop()
  })

  it('each of the 5 ends up with all other nodes in its peer store and routing table', async () => {
    const { nodes, managers } = cluster
    const knowsAll = async (i: number): Promise<boolean> => {
      const others = nodes.filter((_, j) => j !== i).map(n => n.peerId)
      const table = managers[i].routingTablePeers()
      for (const other of others) {
        if (!table.some(p => p.equals(other))) return false
        if (!(await nodes[i].peerStore.has(other))) return false
        if ((await nodes[i].peerStore.get(other)).addresses.length === 0) return false
      }
      return true
    }
    await until(async () => {
      for (let i = 1; i < nodes.length; i++) if (!(await knowsAll(i))) return false
      return true
    }, 45_000, 'full discovery')
    // the refresh timer did run on every node
    await until(() => managers.every(m => m.stats().refreshes >= 1), 15_000, 'refresh rounds')
    for (const m of managers.slice(1)) {
      expect(m.routingTablePeers()).toHaveLength(5)
      expect(m.stats().routingTableSize).toBe(5)
      expect(m.stats().refreshErrors).toBe(0)
    }
  })
})
