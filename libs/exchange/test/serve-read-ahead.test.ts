import { afterAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import { chunkCid } from '@codio/content'
import type { P2PNode } from '@codio/p2p'
import { startTestNode, stopTestNodes } from '@codio/p2p/testing'
import { until } from '@codio/testing'
import { chunkExchange, SERVE_READ_AHEAD, type ChunkExchange } from '../src/index.js'

type Node = P2PNode<{ exchange: ChunkExchange }>

describe('serving a stream: store reads ahead of the send', () => {
  const nodes: Node[] = []
  afterAll(async () => { await stopTestNodes(nodes) })

  it(`reads the next ${SERVE_READ_AHEAD} queued requests' blocks while the one before them waits`, async () => {
    const chunks = Array.from({ length: SERVE_READ_AHEAD + 2 }, () => randomBytes(64 * 1024))
    const cids = chunks.map(c => chunkCid(c))
    const byCid = new Map(cids.map((c, i) => [c.toString(), chunks[i]]))
    let reading = 0
    let most = 0
    let open!: () => void
    const gate = new Promise<void>(resolve => { open = resolve })
    const blocks = {
      get: async (cid: CID) => {
        most = Math.max(most, ++reading)
        await gate
        reading--
        return byCid.get(cid.toString())
      }
    }
    const seed = await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks }) } }, nodes)
    const leecher = await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks: { get: async () => undefined } }) } }, nodes)
    await leecher.dial(seed.getMultiaddrs()[0])
    const got = Promise.all(cids.map(async cid => await leecher.services.exchange.fetch(seed.peerId, cid)))
    // the first request's read holds the stream; the ones queued behind it are read meanwhile
    await until(() => most === 1 + SERVE_READ_AHEAD, 10_000, `${1 + SERVE_READ_AHEAD} store reads at once`)
    open()
    const bytes = await got
    bytes.forEach((b, i) => expect(Buffer.compare(b, chunks[i])).toBe(0))
    expect(most).toBe(1 + SERVE_READ_AHEAD)
  })
})
