/**
 * How a Download spreads its requests, over real libp2p chunk exchanges (issue 21: mutants of
 * download.ts's scheduling that the end-to-end tests did not see): the caps on requests in
 * flight, the least-loaded peer first, when a late request is hedged ("The Tail at Scale",
 * Dean & Barroso 2013), and nothing asked once the download failed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { chunkCid } from '@codio/content'
import { chunkExchange, type ChunkExchange } from '@codio/exchange'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { until } from '@codio/testing'
import { HEDGE_FACTOR, HEDGE_MIN_DELAY_MS } from '../src/constants.js'
import { Download, type BlockFetcher } from '../src/index.js'
import { MapStore } from './helpers.js'

type Node = P2PNode<{ exchange: ChunkExchange }>

/** One request the download sent: to whom, which chunk, when (ms), and how it went. */
interface Asked { peer: string, index: number, at: number, took?: number, settled: boolean }

/**
 * The leecher's real exchange, recording every request, and how many are outstanding: in all
 * and per peer, now and at most.
 */
function recording (exchange: ChunkExchange, cids: CID[]): { fetcher: BlockFetcher, asked: Asked[], most: { all: number, peer: Map<string, number> } } {
  const asked: Asked[] = []
  const index = new Map(cids.map((c, i) => [c.toString(), i]))
  const now = { all: 0, peer: new Map<string, number>() }
  const most = { all: 0, peer: new Map<string, number>() }
  const fetcher: BlockFetcher = {
    fetch: async (peer: PeerId, cid: CID, options?: { signal?: AbortSignal }) => {
      const key = peer.toString()
      const a: Asked = { peer: key, index: index.get(cid.toString()) ?? -1, at: performance.now(), settled: false }
      asked.push(a)
      now.all++
      now.peer.set(key, (now.peer.get(key) ?? 0) + 1)
      most.all = Math.max(most.all, now.all)
      most.peer.set(key, Math.max(most.peer.get(key) ?? 0, now.peer.get(key)!))
      try {
        const bytes = await exchange.fetch(peer, cid, options)
        a.took = performance.now() - a.at
        return bytes
      } finally {
        a.settled = true
        now.all--
        now.peer.set(key, now.peer.get(key)! - 1)
      }
    }
  }
  return { fetcher, asked, most }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const turn = async (): Promise<void> => { for (let i = 0; i < 3; i++) await new Promise(resolve => setImmediate(resolve)) }

describe('Download scheduling over real libp2p connections', () => {
  const chunks = Array.from({ length: 30 }, () => randomBytes(16 * 1024))
  const cids = chunks.map(chunkCid)
  const nodes: Node[] = []
  let leecher: Node
  /** serves at once */
  let seeder: Node
  /** serves every request after 100 ms */
  let steady: Node
  /** accepts every request and sits on it until the requester cancels (a hoarder) */
  let stalling: Node
  let stalling2: Node

  const node = async (serveMs?: number): Promise<Node> => {
    const blocks = new MapStore()
    chunks.forEach((c, j) => { blocks.blocks.set(cids[j].toString(), c) })
    const beforeServe = serveMs == null
      ? undefined
      : serveMs === Infinity
        ? async (_p: PeerId, _b: number, signal?: AbortSignal) => { await new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason))) }
        : async (_p: PeerId, _b: number, signal?: AbortSignal) => { await new Promise(resolve => setTimeout(resolve, serveMs)); signal?.throwIfAborted() }
    const n = await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks, beforeServe, requestTimeout: 20_000 }) } }, nodes)
    if (leecher != null) await leecher.dial(n.getMultiaddrs()[0])
    return n
  }

  beforeAll(async () => {
    leecher = await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks: new MapStore(), requestTimeout: 20_000 }) } }, nodes)
    seeder = await node()
    steady = await node(100)
    stalling = await node(Infinity)
    stalling2 = await node(Infinity)
  })

  afterAll(async () => {
    await Promise.all(nodes.map(async n => await n.stop()))
  })

  it('never has more than maxInFlight requests out in all, nor perPeerInFlight at one peer', async () => {
    const { fetcher, asked, most } = recording(leecher.services.exchange, cids)
    const dl = new Download({ chunks: cids.slice(0, 8), fetcher, sink: new MapStore(), perPeerInFlight: 2, maxInFlight: 3 })
    dl.addPeer(stalling.peerId)
    dl.addPeer(stalling2.peerId)
    await dl.start()
    await until(() => asked.length >= 3, 10_000, 'the first requests')
    // nothing completes, nothing is late yet: whatever else was to be sent has been sent now
    await turn()
    expect(asked.length).toBe(3)
    expect(most.all).toBe(3)
    expect([...most.peer.values()].sort()).toEqual([1, 2])
    dl.fail(new Error('test over'))
    await until(() => asked.every(a => a.settled), 10_000, 'the requests cancelled')
  })

  it('sends the next request to the least-loaded peer', async () => {
    // the staller, added first, sits on its 2 requests; the seeder's first answer frees a slot
    // that must go to the seeder (1 or 0 in flight), not to the staller (2 of its 3)
    for (let round = 0; round < 5; round++) {
      const { fetcher, asked } = recording(leecher.services.exchange, cids)
      const dl = new Download({ chunks: cids.slice(0, 12), fetcher, sink: new MapStore(), perPeerInFlight: 3, maxInFlight: 4 })
      dl.addPeer(stalling.peerId)
      dl.addPeer(seeder.peerId)
      dl.noMorePeers()
      await dl.start()
      await dl.done
      const toStaller = asked.slice(0, 4).filter(a => a.peer === stalling.peerId.toString())
      expect(toStaller.length).toBe(2)
      expect(asked[4].peer).toBe(seeder.peerId.toString())
    }
  }, 30_000)

  it(`hedges a request once it is late: ${HEDGE_FACTOR}× the median fetch time (at least ${HEDGE_MIN_DELAY_MS} ms), before the endgame`, async () => {
    const { fetcher, asked } = recording(leecher.services.exchange, cids)
    const dl = new Download({ chunks: cids, fetcher, sink: new MapStore(), perPeerInFlight: 2 })
    dl.addPeer(stalling.peerId)
    dl.addPeer(steady.peerId)
    dl.noMorePeers()
    await dl.start()
    await dl.done
    const staller = stalling.peerId.toString()
    const first = asked.find(a => a.peer === staller)!
    // the first request for that chunk to another peer is its hedge
    const hedgeAt = asked.findIndex(a => a.index === first.index && a.peer !== staller)
    expect(hedgeAt).toBeGreaterThan(0)
    const hedge = asked[hedgeAt]
    const waited = hedge.at - first.at
    // the median of the fetch times the download knew by then (it measures a little more than
    // this wrapper: its clock starts before the fetch and stops after)
    const known = asked.filter(a => a.took != null && a.at + a.took <= hedge.at).map(a => a.took!)
    console.log(`hedged after ${waited.toFixed(0)} ms, median fetch ${median(known).toFixed(0)} ms over ${known.length} samples`)
    expect(known.length).toBeGreaterThanOrEqual(3)
    expect(waited).toBeGreaterThanOrEqual(HEDGE_MIN_DELAY_MS)
    expect(waited).toBeGreaterThanOrEqual(0.9 * HEDGE_FACTOR * median(known))
    // hedged, not left to the endgame: chunks were still unasked when it went out
    expect(new Set(asked.slice(0, hedgeAt).map(a => a.index)).size).toBeLessThan(cids.length)
  }, 30_000)

  it('sends nothing more once the download failed, even as its requests settle', async () => {
    const { fetcher, asked } = recording(leecher.services.exchange, cids)
    const dl = new Download({ chunks: cids.slice(0, 6), fetcher, sink: new MapStore(), perPeerInFlight: 1 })
    dl.addPeer(steady.peerId)
    await dl.start()
    await until(() => asked.length === 1, 10_000, 'the first request')
    dl.fail(new Error('test over'))
    await until(() => asked[0].settled, 10_000, 'the request cancelled')
    await turn()
    expect(asked.length).toBe(1)
    await expect(dl.done).rejects.toThrow('test over')
  })
})
