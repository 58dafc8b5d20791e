/**
 * Swarm sessions end when there is nothing left to trade, between real peers on loopback
 * TCP: once an edge holds a content whole, its session with a holder of the whole content
 * closes on both sides. Before, every finished download kept its session, and the 257th
 * content an edge fetched from one holder met that holder's session limit (256 per peer) and
 * failed with "no reachable peer" (found by `npm run soak`).
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { until } from '@codio/testing'
import { addrOf, makeContent, Peers, publish, randomChunks, type TestContent } from './content.js'

const CONTENTS = 300

describe('swarm session lifecycle between real peers', () => {
  const peers = new Peers()

  afterAll(async () => {
    await peers.close()
  })

  it(`an edge fetches ${CONTENTS} contents from one origin, more than the origin's 256 sessions per peer; no session outlives its download`, async () => {
    const kp = await peers.kp
    const origin = await peers.start('origin', { role: 'origin' })
    const contents: TestContent[] = []
    for (let i = 0; i < CONTENTS; i++) {
      const c = await makeContent(kp, randomChunks(1))
      await publish(origin, c)
      contents.push(c)
    }
    const edge = await peers.start('edge', { bootstrap: [addrOf(origin)] })
    await until(() => edge.isReady(), 15_000, 'the edge to join the DHT')
    for (const [i, c] of contents.entries()) {
      const dl = edge.download(await edge.resolve(c.contentId))
      await dl.done.catch((err: Error) => { throw new Error(`content ${i + 1} of ${CONTENTS}: ${err.message}`) })
      // two seeds of it now: the session closes on both sides
      await until(() => edge.swarm.sessionsOf(c.contentId) === 0 && origin.swarm.sessionsOf(c.contentId) === 0, 5_000, `the session of content ${i + 1} to close`)
    }
    for (const c of contents) expect(await edge.store.hasContent(c.contentId)).toBe(true)
  }, 240_000)
})
