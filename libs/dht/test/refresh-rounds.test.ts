import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { until } from '@codio/testing'
import { startCluster, type Cluster } from './helpers.js'

/** The refresh timer's rounds: a random walk only when the node's own lookups have not walked the table lately. */
describe('refresh timer rounds: 1 bootstrap node + 3 nodes, one manager started', () => {
  let cluster: Cluster

  beforeAll(async () => {
    cluster = await startCluster(4, { queryTimeoutMs: 10_000, refreshIntervalMs: 1000 })
    await Promise.all(cluster.managers.map(async m => m.refresh()))
  }, 60_000)

  afterAll(async () => {
    await cluster?.stop()
  })

  it('runs the self lookup and a random walk on a quiet node, and skips the walk while lookups of its own get answers', async () => {
    const m = cluster.managers[1]
    const base = m.stats()
    m.start()
    // quiet: no lookup but the refresh's own; the table holds fewer than K, so the self lookup always runs
    await until(() => m.stats().refreshes >= base.refreshes + 2, 20_000, 'two quiet refresh rounds')
    const quiet = m.stats()
    expect(quiet.refreshLookups - base.refreshLookups).toBe(2 * (quiet.refreshes - base.refreshes))

    // busy: lookups back to back, each answered by the other nodes
    let busy = true
    let answered = 0
    const traffic = (async () => {
      while (busy) {
        if ((await m.closestPeers(crypto.getRandomValues(new Uint8Array(32)))).length > 0) answered++
      }
    })()
    try {
      await until(() => answered > 0, 10_000, 'a lookup answered')
      const from = m.stats()
      await until(() => m.stats().refreshes >= from.refreshes + 2, 20_000, 'two busy refresh rounds')
      const to = m.stats()
      const rounds = to.refreshes - from.refreshes
      // every round ran its self lookup; at least one skipped the walk (on a machine so loaded that
      // a lookup takes longer than the interval, a round may still walk)
      expect(to.refreshLookups - from.refreshLookups).toBeGreaterThanOrEqual(rounds)
      expect(to.refreshLookups - from.refreshLookups).toBeLessThan(2 * rounds)
      expect(to.refreshErrors).toBe(0)
    } finally {
      busy = false
      await traffic
      m.stop()
    }
  }, 90_000)

  it('a refresh asked for by a caller always runs both lookups', async () => {
    const m = cluster.managers[2]
    await m.closestPeers(crypto.getRandomValues(new Uint8Array(32)))
    const r = await m.refresh()
    expect(r.lookups).toBe(2)
  }, 30_000)
})
