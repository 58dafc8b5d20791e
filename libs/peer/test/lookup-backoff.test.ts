/**
 * A provider lookup that finds nobody walks the DHT again and again with exponential backoff
 * (LOOKUP_RETRY_MS doubling up to LOOKUP_RETRY_MAX_MS between walks), between real peers on
 * loopback TCP, and finds a provider that announces itself only later, within its time limit.
 * The gaps are checked as lower bounds (a slow machine only makes them longer).
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { performance } from 'node:perf_hooks'
import { until } from '@codio/testing'
import { LOOKUP_RETRY_MAX_MS, LOOKUP_RETRY_MS, ProviderSearch } from '../src/provider-search.js'
import { addrOf, makeContent, Peers, publish, randomChunks } from './content.js'

describe('provider lookup backoff between real peers', () => {
  const peers = new Peers()

  afterAll(async () => {
    await peers.close()
  })

  it('walks again after 250 ms, 500 ms, 1 s, 2 s, 2 s … and finds the provider that announces itself late', async () => {
    const content = await makeContent(await peers.kp, randomChunks(4))
    const hub = await peers.start('hub', { role: 'relay' })
    const seeker = await peers.start('seeker', { bootstrap: [addrOf(hub)] })
    const holder = await peers.start('holder', { bootstrap: [addrOf(hub)] })
    await until(() => seeker.isReady() && holder.isReady(), 15_000, 'both to join the DHT')
    // the seeker's real DHT, each walk's start time noted
    const walks: number[] = []
    const dht = { findProviders: (...args: Parameters<typeof seeker.dht.findProviders>) => { walks.push(performance.now()); return seeker.dht.findProviders(...args) } }
    const stop = new AbortController()
    const search = new ProviderSearch(seeker.node, dht, content.contentId, 30_000, stop.signal)
    await until(() => walks.length >= 5, 20_000, 'five walks that find nobody')
    expect(search.found).toEqual([])
    // now the holder has it, and says so (a DHT provider record)
    await publish(holder, content)
    await holder.provide(content.contentId)
    await until(() => search.found.some(p => p.equals(holder.peerId)), 20_000, 'the late provider to be found')
    expect(search.source).toBe('dht')
    stop.abort()
    const gaps = walks.slice(1).map((t, i) => t - walks[i])
    console.log(`walk gaps (ms): ${gaps.map(g => g.toFixed(0)).join(', ')}`)
    gaps.slice(0, 4).forEach((g, i) => {
      const wait = Math.min(LOOKUP_RETRY_MS * 2 ** i, LOOKUP_RETRY_MAX_MS)
      expect([i, g >= wait * 0.95]).toEqual([i, true])
    })
  }, 60_000)
})
