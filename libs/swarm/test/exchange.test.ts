import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import { FairQueue, TokenBucket } from '@codio/bandwidth'
import { chunkCid } from '@codio/content'
import { BlockRefusedError, chunkExchange, CHUNK_PROTOCOL, type ChunkExchange } from '@codio/exchange'
import { RefusalCode } from '@codio/proto'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { until } from '@codio/testing'
import { MapStore } from './helpers.js'

type Node = P2PNode<{ exchange: ChunkExchange }>

const MiB = 1024 * 1024

describe('block exchange: pipelined requests on one stream per peer', () => {
  let seed: Node
  let leecher: Node
  const chunks = Array.from({ length: 6 }, () => randomBytes(MiB))
  let cids: CID[]
  const served: string[] = []
  /** Requests that reached the seed's upload queue (one at a time per stream). */
  let waiting = 0

  beforeAll(async () => {
    cids = chunks.map(c => chunkCid(c))
    const store = new MapStore()
    chunks.forEach((c, i) => store.blocks.set(cids[i].toString(), c))
    // 2 MiB/s: a MiB takes half a second, long enough to cancel what waits behind it
    const upload = new FairQueue(new TokenBucket({ rate: 2 * MiB, burst: 64 * 1024 }))
    seed = await startTestNode<{ exchange: ChunkExchange }>({
      services: {
        exchange: chunkExchange({
          blocks: store,
          beforeServe: async (peer, bytes, signal) => {
            waiting++
            await upload.take(peer.toString(), bytes, signal)
          },
          onServed: () => { served.push('x') }
        })
      }
    })
    leecher = await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks: new MapStore(), requestTimeout: 10_000 }) } })
    await leecher.dial(seed.getMultiaddrs()[0])
  })

  afterAll(async () => {
    await Promise.all([seed, leecher].map(async n => n.stop()))
  })

  it('answers concurrent requests in order over a single stream, verified', async () => {
    const got = await Promise.all(cids.slice(0, 3).map(async cid => await leecher.services.exchange.fetch(seed.peerId, cid)))
    got.forEach((bytes, i) => expect(Buffer.compare(bytes, chunks[i])).toBe(0))
    const conn = leecher.getConnections(seed.peerId)[0]
    expect(conn.streams.filter(s => s.protocol === CHUNK_PROTOCOL)).toHaveLength(1)
  })

  it('does not send a request cancelled while it waits for upload bandwidth', async () => {
    served.length = 0
    waiting = 0
    const cancel = new AbortController()
    const kept = leecher.services.exchange.fetch(seed.peerId, cids[3])
    const dropped = [4, 5].map(async i => await leecher.services.exchange.fetch(seed.peerId, cids[i], { signal: cancel.signal }))
    // the first is being served (1 MiB at 2 MiB/s), the two behind it wait when they are cancelled
    await until(() => waiting === 1, 15_000, 'the first request to reach the seed\'s upload queue')
    cancel.abort(new Error('endgame: another peer delivered it'))
    for (const d of dropped) await expect(d).rejects.toThrow('endgame: another peer delivered it')
    expect(Buffer.compare(await kept, chunks[3])).toBe(0)
    // the stream answers in order: had the cancelled two gone out, they would come before this one
    expect(Buffer.compare(await leecher.services.exchange.fetch(seed.peerId, cids[0]), chunks[0])).toBe(0)
    expect(served).toHaveLength(2)
    expect(leecher.services.exchange.peerStats().get(seed.peerId.toString())?.failures).toBe(0)
  })

  it('answers a want-have at once, ahead of pieces waiting for upload bandwidth', async () => {
    served.length = 0
    let piecesDone = 0
    // 3 MiB at 2 MiB/s: the pieces take well over a second
    const pieces = [0, 1, 2].map(async i => {
      await leecher.services.exchange.fetch(seed.peerId, cids[i])
      piecesDone++
    })
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(await leecher.services.exchange.has(seed.peerId, cids[4])).toBe(true)
    expect(await leecher.services.exchange.has(seed.peerId, chunkCid(randomBytes(100)))).toBe(false)
    // served in order, a want-have would come after all three; the bucket lets the first go at once
    expect(piecesDone).toBeLessThanOrEqual(1)
    await Promise.all(pieces)
    // a presence is not an upload
    expect(served).toHaveLength(3)
  })
})

describe('want-have is never choked', () => {
  it('says the block is held to a peer every request of which is refused CHOKED', async () => {
    const chunk = randomBytes(1000)
    const cid = chunkCid(chunk)
    const store = new MapStore()
    store.blocks.set(cid.toString(), chunk)
    const nodes: Node[] = []
    const failures: string[] = []
    try {
      for (const blocks of [store, new MapStore()]) {
        await startTestNode<{ exchange: ChunkExchange }>({
          services: { exchange: chunkExchange({ blocks, admit: () => RefusalCode.CHOKED, onFetchFailure: (_p, reason) => { failures.push(reason) } }) }
        }, nodes)
      }
      const [seed, leecher] = nodes
      await leecher.dial(seed.getMultiaddrs()[0])
      await expect(leecher.services.exchange.fetch(seed.peerId, cid)).rejects.toThrow(BlockRefusedError)
      expect(failures).toEqual(['refused'])
      expect(await leecher.services.exchange.has(seed.peerId, cid)).toBe(true)
    } finally {
      await Promise.all(nodes.map(async n => n.stop()))
    }
  })
})
