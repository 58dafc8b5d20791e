/**
 * Super-seeding (BEP 16) between real peers on loopback TCP, at the default budget of 1.5
 * copies (DEFAULT_SWARM_POLICY.superSeedCopies): an origin that super-seeds a content to four
 * peers fetching it at once uploads every chunk at least once and at most 1.5 copies of the
 * content in all; the peers trade the rest among themselves, and every one ends byte-exact.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { chunkCid } from '@codio/content'
import { until } from '@codio/testing'
import { DEFAULT_SWARM_POLICY } from '../src/peer.js'
import { addrOf, makeContent, Peers, publish, randomChunks } from './content.js'

const CHUNKS = 64
const LEECHERS = 4

describe('super-seeding between real peers', () => {
  const peers = new Peers()

  afterAll(async () => {
    await peers.close()
  })

  it(`uploads between 1 and ${DEFAULT_SWARM_POLICY.superSeedCopies} copies of the content to ${LEECHERS} peers fetching it at once; they trade the rest`, async () => {
    expect(DEFAULT_SWARM_POLICY.superSeedCopies).toBe(1.5)
    const content = await makeContent(await peers.kp, randomChunks(CHUNKS))
    const origin = await peers.start('origin', { role: 'origin', swarm: { superSeeding: true } })
    await publish(origin, content)
    const leechers = await Promise.all(Array.from({ length: LEECHERS }, async (_, i) => await peers.start(`leecher-${i}`, { bootstrap: [addrOf(origin)] })))
    await until(() => leechers.every(l => l.isReady()), 15_000, 'the leechers to join the DHT')
    // all at once, as a flash crowd
    const downloads = await Promise.all(leechers.map(async l => l.download(await l.resolve(content.contentId))))
    await Promise.all(downloads.map(async d => await d.done))
    for (const l of leechers) {
      for (let i = 0; i < CHUNKS; i++) expect(Buffer.compare((await l.store.get(chunkCid(content.chunks[i])))!, content.chunks[i])).toBe(0)
    }
    const sent = [...origin.exchange.peerStats().values()].reduce((n, s) => n + s.chunksSent, 0)
    const traded = leechers.map(l => [...l.exchange.peerStats()].filter(([id]) => id !== origin.peerId.toString()).reduce((n, [, s]) => n + s.chunksReceived, 0))
    console.log(`super-seed: the origin sent ${sent} chunks (${(sent / CHUNKS).toFixed(2)} copies) to ${LEECHERS} peers; chunks each got from the others: ${traded.join(', ')}`)
    expect(sent).toBeGreaterThanOrEqual(CHUNKS)
    expect(sent).toBeLessThanOrEqual(Math.ceil(DEFAULT_SWARM_POLICY.superSeedCopies * CHUNKS))
    // the other (LEECHERS − 1.5) copies came from the peers themselves
    expect(traded.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(LEECHERS * CHUNKS - sent)
  }, 90_000)

  it('shows an edge (a peer streaming to a reader) the chunks in order: chunk 0 comes among the first reveals', async () => {
    const chunks = 256
    const content = await makeContent(await peers.kp, randomChunks(chunks))
    const origin = await peers.start('origin-2', { role: 'origin', swarm: { superSeeding: true } })
    await publish(origin, content)
    const edge = await peers.start('edge-2', { role: 'edge', bootstrap: [addrOf(origin)] })
    await until(() => edge.isReady(), 15_000, 'the edge to join the DHT')
    await until(() => edge.peerRoles.of(origin.peerId) === 'origin' && origin.peerRoles.of(edge.peerId) === 'edge', 15_000, 'identify both ways')
    const dl = edge.download(await edge.resolve(content.contentId))
    await dl.chunk(0)
    // reveals in a random order put chunk 0 among the first 16 of 256 one time in 16
    expect(dl.chunksDone).toBeLessThanOrEqual(16)
    await dl.done
  }, 60_000)
})
