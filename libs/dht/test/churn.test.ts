import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { until } from '@codio/testing'
import { startCluster, type Cluster } from './helpers.js'

/** Routing tables after a peer dies: kad-dht keeps a dead contact until its bucket is full; the manager drops it. */
describe('routing-table repair after churn: 1 bootstrap node + 4 nodes, one of them stopped', () => {
  let cluster: Cluster

  beforeAll(async () => {
    // the smallest refresh interval: after 3 × 100 ms, every table peer counts as not heard from lately
    cluster = await startCluster(5, { queryTimeoutMs: 10_000, refreshIntervalMs: 100 })
    const { nodes, managers } = cluster
    // every node learns every other one
    for (let round = 0; round < 3; round++) await Promise.all(managers.map(async m => m.refresh()))
    await until(() => nodes.every(n => n.services.dht.routingTable.size === 4), 30_000, 'full routing tables')
  }, 90_000)

  afterAll(async () => {
    await cluster?.stop()
  })

  const has = (i: number, j: number): boolean => cluster.managers[i].routingTablePeers().some(p => p.equals(cluster.nodes[j].peerId))

  it('refreshes ping the peers they have not heard from and drop the dead one at its second failed check, keeping the live ones', async () => {
    const { nodes, managers } = cluster
    await nodes[4].stop()
    await until(() => nodes[1].getConnections(nodes[4].peerId).length === 0, 10_000, 'the connection to the dead node closed')
    expect(has(1, 4)).toBe(true)

    // one failed check is a strike, not a verdict (past 3 refresh intervals of 100 ms, every
    // unconnected table peer is due for a check)
    await new Promise(resolve => setTimeout(resolve, 350))
    const first = await managers[1].refresh()
    expect(first.checked).toBeGreaterThanOrEqual(1)
    expect(first.evicted).toBe(0)
    // the second failed check: the refresh's own lookup RPC to it, or the next refresh
    if (has(1, 4)) {
      await new Promise(resolve => setTimeout(resolve, 350))
      await managers[1].refresh()
    }
    await until(() => !has(1, 4), 10_000, 'the dead peer dropped')
    for (const j of [0, 2, 3]) expect(has(1, j)).toBe(true)
    expect(managers[1].stats().evicted).toBe(1)
    expect(managers[1].stats().refreshErrors).toBe(0)
  }, 60_000)

  it('a lookup whose RPC to a dead table peer fails drops that peer without waiting for a refresh', async () => {
    const { nodes, managers } = cluster
    await until(() => nodes[2].getConnections(nodes[4].peerId).length === 0, 10_000, 'the connection to the dead node closed')
    expect(has(2, 4)).toBe(true)
    // a lookup with K = 20 asks every peer of a 4-peer table, the dead one included; its
    // failed RPC sets off a check; the second lookup's failure, the second check
    for (let i = 0; i < 20 && has(2, 4); i++) {
      await managers[2].closestPeers(crypto.getRandomValues(new Uint8Array(32)))
      await new Promise(resolve => setTimeout(resolve, 250))
    }
    await until(() => !has(2, 4), 10_000, 'the dead peer dropped')
    for (const j of [0, 1, 3]) expect(has(2, j)).toBe(true)
    expect(managers[2].stats().evicted).toBe(1)
  }, 60_000)

  it('a refresh refills an emptied table from the connected DHT peers (kad-dht offers a peer only once, at identify)', async () => {
    const { nodes, managers } = cluster
    for (const p of managers[3].routingTablePeers()) await managers[3].forgetPeer(p)
    expect(managers[3].routingTablePeers()).toHaveLength(0)
    expect(nodes[3].getConnections(nodes[0].peerId).length).toBeGreaterThan(0)
    const r = await managers[3].refresh()
    expect(r.adopted).toBeGreaterThanOrEqual(1)
    // the adopted peers were the lookups' starting points: the live network is back in the table
    expect(has(3, 0)).toBe(true)
    expect(r.routingTableSize).toBeGreaterThanOrEqual(2)
  }, 60_000)
})
