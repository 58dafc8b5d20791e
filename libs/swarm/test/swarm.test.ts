import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { TokenBucket } from '@codio/bandwidth'
import { chunkCid } from '@codio/content'
import { chunkExchange, type ChunkExchange } from '@codio/exchange'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { Bitfield, Download } from '../src/index.js'
import { MapStore } from './helpers.js'
import { exchangeFetcher } from '../src/exchange-fetcher.js'

type Node = P2PNode<{ exchange: ChunkExchange }>


/** A peer serving `chunks` (by index), with an upload limit in bytes/s when `rate` is set. */
async function seeder (chunks: Uint8Array[], cids: CID[], indexes: number[], rate?: number): Promise<Node> {
  const store = new MapStore()
  for (const i of indexes) store.blocks.set(cids[i].toString(), chunks[i])
  const bucket = rate == null ? undefined : new TokenBucket({ rate, burst: 64 * 1024 })
  return await startTestNode<{ exchange: ChunkExchange }>({
    services: { exchange: chunkExchange({ blocks: store, beforeServe: async (_p, bytes) => { await bucket?.take(bytes) } }) }
  })
}

describe('swarm downloads over real libp2p connections', () => {
  const nodes: Node[] = []
  let leecher: Node

  beforeAll(async () => {
    leecher = await seeder([], [], [])
  })

  afterAll(async () => {
    await Promise.all([...nodes, leecher].map(async n => n.stop()))
  })

  it('pulls from all 5 rate-limited peers that hold everything in parallel: none serves more than half (the speed-up itself: npm run bench:swarm)', async () => {
    const CHUNK = 64 * 1024
    const chunks = Array.from({ length: 64 }, () => randomBytes(CHUNK)) // 4 MiB
    const cids = chunks.map(chunkCid)
    const RATE = 1_000_000 // each peer uploads at most 1 MB/s
    const peers: Node[] = []
    for (let i = 0; i < 5; i++) {
      const p = await seeder(chunks, cids, chunks.map((_, j) => j), RATE)
      peers.push(p)
      nodes.push(p)
      await leecher.dial(p.getMultiaddrs()[0])
    }
    const sink = new MapStore()
    const dl = new Download({ chunks: cids, fetcher: exchangeFetcher(leecher.services.exchange), sink, chunkSize: CHUNK, size: 64 * CHUNK })
    for (const p of peers) dl.addPeer(p.peerId)
    dl.noMorePeers()
    await dl.start()
    await dl.done
    const { chunksByPeer } = dl.progress()
    // requests went to every peer at once: with five equal 1 MB/s peers a download that drained
    // them one after another (or mostly one) would take most chunks from one of them
    for (const p of peers) expect(chunksByPeer[p.peerId.toString()]).toBeGreaterThan(0)
    expect(Math.max(...peers.map(p => chunksByPeer[p.peerId.toString()]))).toBeLessThanOrEqual(32)
    for (let i = 0; i < 64; i++) expect(Buffer.compare(sink.blocks.get(cids[i].toString())!, chunks[i])).toBe(0)
  }, 30_000)

  it('rarest-first: with peers holding {0,1,2}, {0,1,3}, {0,1} the rare chunks 2 and 3 are asked first', async () => {
    const chunks = Array.from({ length: 4 }, () => randomBytes(16 * 1024))
    const cids = chunks.map(chunkCid)
    const holdings = [[0, 1, 2], [0, 1, 3], [0, 1]]
    const peers: Node[] = []
    for (const h of holdings) {
      const p = await seeder(chunks, cids, h)
      peers.push(p)
      nodes.push(p)
      await leecher.dial(p.getMultiaddrs()[0])
    }
    for (let run = 0; run < 5; run++) {
      const asked: Array<{ peer: string, index: number }> = []
      const real = exchangeFetcher(leecher.services.exchange)
      const fetcher = {
        fetch: async (peer: PeerId, cid: CID, options?: { signal?: AbortSignal }) => {
          asked.push({ peer: peer.toString(), index: cids.findIndex(c => c.equals(cid)) })
          return await real.fetch(peer, cid, options)
        }
      }
      const dl = new Download({ chunks: cids, fetcher, sink: new MapStore(), perPeerInFlight: 1, streamingWindow: 0 })
      holdings.forEach((h, k) => {
        const bits = new Bitfield(4)
        for (const i of h) bits.set(i)
        dl.addPeer(peers[k].peerId, bits)
      })
      dl.noMorePeers()
      await dl.start()
      await dl.done
      const firstFrom = (k: number): number | undefined => asked.find(a => a.peer === peers[k].peerId.toString())?.index
      // each of the first two peers had a choice between common chunks and its rare one
      expect(firstFrom(0)).toBe(2)
      expect(firstFrom(1)).toBe(3)
      // the peer holding only common chunks asked for nothing rare, and nobody asked a peer for what it lacks
      for (const a of asked) expect(holdings[peers.findIndex(p => p.peerId.toString() === a.peer)]).toContain(a.index)
    }
  }, 30_000)

  it('asks a peer only for chunks its bitfield or later `have`s say it holds', async () => {
    const chunks = Array.from({ length: 6 }, () => randomBytes(16 * 1024))
    const cids = chunks.map(chunkCid)
    const partial = await seeder(chunks, cids, [0, 1, 2, 3, 4, 5])
    nodes.push(partial)
    await leecher.dial(partial.getMultiaddrs()[0])
    const asked: number[] = []
    const real = exchangeFetcher(leecher.services.exchange)
    const fetcher = {
      fetch: async (peer: PeerId, cid: CID, options?: { signal?: AbortSignal }) => {
        asked.push(cids.findIndex(c => c.equals(cid)))
        return await real.fetch(peer, cid, options)
      }
    }
    const dl = new Download({ chunks: cids, fetcher, sink: new MapStore() })
    const bits = new Bitfield(6)
    bits.set(0)
    bits.set(1)
    dl.addPeer(partial.peerId, bits)
    await dl.start()
    await dl.chunk(1)
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(asked.sort()).toEqual([0, 1])
    for (const i of [2, 3, 4, 5]) dl.have(partial.peerId, i)
    dl.noMorePeers()
    await dl.done
    expect(asked.sort()).toEqual([0, 1, 2, 3, 4, 5])
  })
})
