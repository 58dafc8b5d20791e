/**
 * When a peer announces itself as a provider (a DHT provider record, Kademlia ADD_PROVIDER)
 * between real peers on loopback TCP: a downloader once it holds half of the chunks
 * (PROVIDE_AT_FRACTION), not at its first chunk nor only at its last; and a peer that starts
 * with content in its store announces it again (the DHT forgets a peer that left), as does one
 * that stored it while it knew no DHT peer, once one joins.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { until } from '@codio/testing'
import { PROVIDE_AT_FRACTION } from '../src/downloads.js'
import type { CodioPeer } from '../src/peer.js'
import { addrOf, makeContent, Peers, publish, randomChunks, type TestContent } from './content.js'

const CHUNKS = 64

describe('provider announcements between real peers', () => {
  const peers = new Peers()
  let content: TestContent

  beforeAll(async () => {
    content = await makeContent(await peers.kp, randomChunks(CHUNKS))
  })

  afterAll(async () => {
    await peers.close()
  })

  const provides = async (at: CodioPeer, who: CodioPeer): Promise<boolean> =>
    (await at.dht.localProviders(content.contentId)).some(p => p.equals(who.peerId))

  it(`a downloader provides the content once it holds ${PROVIDE_AT_FRACTION * 100} % of its chunks, before it holds them all`, async () => {
    // 1 MiB at 64 KiB/s after the origin's 256 KiB burst: about 12 s from the burst to the end
    const origin = await peers.start('origin', { role: 'origin', swarm: { maxUploadRate: 64 * 1024 } })
    await publish(origin, content)
    const edge = await peers.start('edge', { bootstrap: [addrOf(origin)] })
    await until(() => edge.isReady(), 15_000, 'the edge to join the DHT')
    const dl = edge.download(await edge.resolve(content.contentId))
    // the record lands on the origin (the only other DHT peer); note how far the download was
    let doneWithout = 0
    let doneAtRecord = -1
    await until(async () => {
      const done = dl.chunksDone
      if (await provides(origin, edge)) {
        doneAtRecord = done
        return true
      }
      doneWithout = Math.max(doneWithout, done)
      return false
    }, 30_000, 'the edge\'s provider record', 20)
    console.log(`provider record seen at ${doneAtRecord} of ${CHUNKS} chunks; absent up to ${doneWithout}`)
    expect(doneAtRecord).toBeGreaterThanOrEqual(PROVIDE_AT_FRACTION * CHUNKS)
    expect(doneAtRecord).toBeLessThan(CHUNKS)
    // it was looked for while the download was under way, not only once it got there
    expect(doneWithout).toBeGreaterThan(0)
    await dl.done
  }, 60_000)

  it('a peer that starts with content in its store provides it again to a DHT that never heard of it', async () => {
    const holder = await peers.start('holder')
    await publish(holder, content)
    await peers.stop(holder)
    // a fresh DHT peer: no record of anything
    const fresh = await peers.start('fresh')
    expect(await fresh.dht.localProviders(content.contentId)).toEqual([])
    // the same data directory (same peer key, same store), bootstrapping from the fresh peer
    const again = await peers.start('holder', { bootstrap: [addrOf(fresh)] })
    expect(again.peerId.equals(holder.peerId)).toBe(true)
    await until(async () => await provides(fresh, again), 20_000, 'the restarted holder\'s provider record on the fresh peer')
  }, 60_000)

  it('a content stored while no DHT peer is known is announced once one joins (the announcer tries again)', async () => {
    const own = await makeContent(await peers.kp, randomChunks(4))
    // no bootstrap: an empty routing table, nobody to hold the record
    const lonely = await peers.start('lonely')
    await publish(lonely, own)
    expect(lonely.pendingAnnouncements()).toBe(1)
    // the DHT refreshes every 10 min and announces nothing: only the announcer's retry gets the record out
    const joiner = await peers.start('joiner', { bootstrap: [addrOf(lonely)] })
    await until(async () => (await joiner.dht.localProviders(own.contentId)).some(p => p.equals(lonely.peerId)), 20_000, 'the lonely peer\'s provider record on the joiner')
    await until(() => lonely.pendingAnnouncements() === 0, 5_000, 'no announcement pending')
  }, 60_000)
})
