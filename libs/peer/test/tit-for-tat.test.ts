/**
 * Tit-for-tat choking (BEP 3) between real peers over loopback TCP: a peer that uploads to us
 * gets our regular unchoke slot ahead of one that does not, and the optimistic unchoke rotates
 * among the others. Each peer is a CodioPeer (real libp2p, swarm sessions, block stores);
 * the choke state read is the one GetPeerStats reports (`choked`, `interested`).
 *
 * The content is 64 chunks of 16 KiB. A ("us") holds chunks 0–31 and B holds 32–63: each wants
 * what the other has, so B uploads to A and is interested in A; both upload at 16 KiB/s after
 * their token bucket's 256 KiB burst, so each still wants the other's half for many seconds. C and D hold nothing and upload at one
 * byte a second (beyond their token bucket's burst): they are interested in A and give it
 * next to nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { chunkCid } from '@codio/content'
import { until } from '@codio/testing'
import type { CodioPeer } from '../src/peer.js'
import { addrOf, makeContent, Peers, randomChunks, type TestContent } from './content.js'

/** Store the manifest and the chunks `held` (by index) in `peer`, as a partial download leaves them. */
async function hold (peer: CodioPeer, c: TestContent, held: number[]): Promise<void> {
  await peer.store.put(c.contentId, c.manifestBytes)
  for (const i of held) await peer.store.put(chunkCid(c.chunks[i]), c.chunks[i])
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k)

describe('tit-for-tat between real peers', () => {
  const peers = new Peers()
  let content: TestContent

  beforeAll(async () => {
    content = await makeContent(await peers.kp, randomChunks(64))
  })

  afterAll(async () => {
    await peers.close()
  })

  /** A and B trading halves, plus `idle` peers that upload nothing; every download started. */
  async function swarm (aPolicy: { regularUnchokeSlots: number, optimisticUnchokeSlots: number, optimisticUnchokeInterval?: number }, idle: string[], tag: string): Promise<{ a: CodioPeer, b: CodioPeer, others: CodioPeer[] }> {
    // both halves move at 2 KiB/s after the bucket's 256 KiB burst, so neither A nor B holds the
    // other's half within a test (2 min): once B has all of A's half it is no longer interested,
    // its regular slot goes to C or D, and both of those are unchoked (seen on a loaded CI run at 16 KiB/s)
    const a = await peers.start(`${tag}-a`, { swarm: { choking: true, maxUploadRate: 2 * 1024, unchokeInterval: 300, optimisticUnchokeInterval: 60_000, ...aPolicy } })
    const b = await peers.start(`${tag}-b`, { swarm: { maxUploadRate: 2 * 1024 } })
    const others = await Promise.all(idle.map(async n => await peers.start(`${tag}-${n}`, { swarm: { maxUploadRate: 1 } })))
    await hold(a, content, range(0, 32))
    await hold(b, content, range(32, 64))
    for (const o of others) await hold(o, content, [])
    for (const p of [b, ...others]) await p.node.dial(a.node.getMultiaddrs()[0])
    for (const o of others) await o.node.dial(b.node.getMultiaddrs()[0])
    for (const p of [a, b, ...others]) p.download(await p.resolve(content.contentId))
    return { a, b, others }
  }

  const state = (a: CodioPeer, p: CodioPeer): { choked: boolean, interested: boolean } | undefined => a.swarm.peerStates().get(p.peerId.toString())

  it('unchokes the peer that uploads to us and keeps the one that does not choked (1 regular slot, no optimistic)', async () => {
    const { a, b, others: [c] } = await swarm({ regularUnchokeSlots: 1, optimisticUnchokeSlots: 0 }, ['c'], 'tft')
    // both are interested in A; only B has sent it anything
    await until(() => state(a, b)?.interested === true && state(a, c)?.interested === true && a.swarm.rates.down(b.peerId.toString()) > 0, 20_000, 'B and C interested in A, B uploading to it')
    await until(() => state(a, b)?.choked === false && state(a, c)?.choked === true, 10_000, 'A to unchoke B and choke C')
    // and it stays so over the next rechokes (every 300 ms) while A leeches
    for (let k = 0; k < 5; k++) {
      await new Promise(resolve => setTimeout(resolve, 300))
      expect([k, state(a, b), state(a, c)]).toEqual([k, { choked: false, interested: true }, { choked: true, interested: true }])
    }
    // the reason: B sends to A faster than C (whose one-byte-a-second limit lets only its burst out)
    expect(a.swarm.rates.down(b.peerId.toString())).toBeGreaterThan(a.swarm.rates.down(c.peerId.toString()))
  }, 60_000)

  it('rotates the optimistic unchoke among the peers that do not upload (1 regular + 1 optimistic slot, redrawn every 500 ms)', async () => {
    const { a, b, others } = await swarm({ regularUnchokeSlots: 1, optimisticUnchokeSlots: 1, optimisticUnchokeInterval: 500 }, ['c', 'd'], 'opt')
    const [c, d] = others
    await until(() => [b, c, d].every(p => state(a, p)?.interested === true) && a.swarm.rates.down(b.peerId.toString()) > 0, 20_000, 'B, C and D interested in A, B uploading to it')
    await until(() => state(a, b)?.choked === false, 10_000, 'A to unchoke B')
    // over a few optimistic periods, each of C and D holds the optimistic slot at some point,
    // never both at once, and B keeps its regular slot
    const optimistic = new Set<string>()
    await until(() => {
      const open = [c, d].filter(p => state(a, p)?.choked === false)
      expect(open.length).toBeLessThanOrEqual(1)
      for (const p of open) optimistic.add(p.peerId.toString())
      return optimistic.size === 2
    }, 15_000, 'the optimistic unchoke to visit both C and D', 50)
    expect(state(a, b)?.choked).toBe(false)
  }, 60_000)
})
