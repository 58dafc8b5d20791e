/**
 * How a Download spreads its requests, over real libp2p chunk exchanges (issue 21: mutants of
 * download.ts's scheduling that the end-to-end tests did not see): the caps on requests in
 * flight, the least-loaded peer first, when a late request is hedged ("The Tail at Scale",
 * Dean & Barroso 2013) and when the endgame duplicates one (BEP 3), a peer that refuses as
 * CHOKED, one that keeps failing, a sink that cannot store, and nothing asked once the
 * download failed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { chunkCid } from '@codio/content'
import { chunkExchange, type ChunkExchange } from '@codio/exchange'
import { RefusalCode } from '@codio/proto'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { until } from '@codio/testing'
import { CHOKED_RETRY_MS, ENDGAME_MIN_DELAY_MS, HEDGE_FACTOR, HEDGE_MIN_DELAY_MS } from '../src/constants.js'
import { Bitfield, Download, type BlockFetcher } from '../src/index.js'
import { MapStore } from './helpers.js'
import { exchangeFetcher } from '../src/exchange-fetcher.js'

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
  const real = exchangeFetcher(exchange)
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
        const result = await real.fetch(peer, cid, options)
        if (result.ok) a.took = performance.now() - a.at
        return result
      } finally {
        a.settled = true
        now.all--
        now.peer.set(key, now.peer.get(key)! - 1)
      }
    }
  }
  return { fetcher, asked, most }
}

/** No chunk asked twice of one peer, nor of more than two (a request and its hedge or endgame copy). */
function expectTwoCopiesAtMost (asked: Asked[]): void {
  const copies = new Map<number, string[]>()
  for (const a of asked) copies.set(a.index, [...(copies.get(a.index) ?? []), a.peer])
  for (const peers of copies.values()) {
    expect(peers.length).toBeLessThanOrEqual(2)
    expect(new Set(peers).size).toBe(peers.length)
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const settledWithin = async (p: Promise<unknown>, ms: number): Promise<boolean> =>
  await Promise.race([p.then(() => true, () => true), new Promise<boolean>(resolve => setTimeout(() => resolve(false), ms).unref())])
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
  /** serves every request after 300 ms */
  let slow: Node
  /** refuses every request as CHOKED while `choking` */
  let choker: Node
  let choking = true
  /** resets every request it gets (a transient failure each time) */
  let failing: Node

  const node = async (serveMs?: number, extra?: Partial<Parameters<typeof chunkExchange>[0]>): Promise<Node> => {
    const blocks = new MapStore()
    chunks.forEach((c, j) => { blocks.blocks.set(cids[j].toString(), c) })
    const beforeServe = serveMs == null
      ? undefined
      : serveMs === Infinity
        ? async (_p: PeerId, _b: number, signal?: AbortSignal) => { await new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason))) }
        : async (_p: PeerId, _b: number, signal?: AbortSignal) => { await new Promise(resolve => setTimeout(resolve, serveMs)); signal?.throwIfAborted() }
    const n = await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks, beforeServe, requestTimeout: 20_000, ...extra }) } }, nodes)
    if (leecher != null) await leecher.dial(n.getMultiaddrs()[0])
    return n
  }

  beforeAll(async () => {
    leecher = await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks: new MapStore(), requestTimeout: 20_000 }) } }, nodes)
    seeder = await node()
    steady = await node(100)
    stalling = await node(Infinity)
    stalling2 = await node(Infinity)
    slow = await node(300)
    choker = await node(undefined, { admit: () => choking ? RefusalCode.CHOKED : undefined })
    failing = await node(undefined, { beforeServe: async () => { throw new Error('disk read failed') } })
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
      expectTwoCopiesAtMost(asked)
    }
  }, 30_000)

  it(`hedges a request once it is late: ${HEDGE_FACTOR}× the median fetch time (at least ${HEDGE_MIN_DELAY_MS} ms), before the endgame`, async () => {
    const { fetcher, asked, most } = recording(leecher.services.exchange, cids)
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
    expectTwoCopiesAtMost(asked)
    // a hedge waits for a free slot: the steady peer never had more than its 2
    expect(most.peer.get(steady.peerId.toString())).toBe(2)
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

  it(`endgame: once every chunk was asked, one late by 2× the mean fetch time (at least ${ENDGAME_MIN_DELAY_MS} ms) is asked of another peer too`, async () => {
    // two chunks: too few fetch times for a hedge, so only the endgame can free the staller's one
    const { fetcher, asked } = recording(leecher.services.exchange, cids)
    const dl = new Download({ chunks: cids.slice(0, 2), fetcher, sink: new MapStore(), perPeerInFlight: 1 })
    dl.addPeer(stalling.peerId)
    dl.addPeer(slow.peerId)
    dl.noMorePeers()
    await dl.start()
    expect(await settledWithin(dl.done, 10_000)).toBe(true)
    await dl.done
    const staller = stalling.peerId.toString()
    const held = asked.find(a => a.peer === staller)!
    const copies = asked.filter(a => a.index === held.index)
    // asked twice (the staller, then the slow peer), never a third time
    expect(copies.map(a => a.peer)).toEqual([staller, slow.peerId.toString()])
    expectTwoCopiesAtMost(asked)
    const served = asked.find(a => a.peer !== staller && a.index !== held.index)!
    const waited = copies[1].at - held.at
    console.log(`endgame copy after ${waited.toFixed(0)} ms; the one fetch took ${served.took!.toFixed(0)} ms`)
    expect(waited).toBeGreaterThanOrEqual(ENDGAME_MIN_DELAY_MS)
    expect(waited).toBeGreaterThanOrEqual(0.9 * 2 * served.took!)
  }, 30_000)

  it('endgame: the oldest late request is duplicated first, and only to a peer that holds its chunk', async () => {
    // each staller sits on one of chunks 0 and 1; then a seeder comes, holding every chunk or
    // only chunks 1 and 2: it is sent chunk 2, then the endgame's copy
    const some = new Bitfield(3)
    some.set(1)
    some.set(2)
    for (const has of [undefined, some]) {
      const { fetcher, asked, most } = recording(leecher.services.exchange, cids)
      const dl = new Download({ chunks: cids.slice(0, 3), fetcher, sink: new MapStore(), perPeerInFlight: 1, strategy: 'sequential', streamingWindow: 1 })
      dl.addPeer(stalling.peerId)
      dl.addPeer(stalling2.peerId)
      await dl.start()
      await until(() => asked.length === 2, 10_000, 'the stallers\' requests')
      expect(asked.map(a => a.index)).toEqual([0, 1])
      dl.addPeer(seeder.peerId, has)
      await until(() => asked.length >= 4, 10_000, 'chunk 2, then the endgame copy')
      expect(asked[2]).toMatchObject({ peer: seeder.peerId.toString(), index: 2 })
      // the oldest is chunk 0, unless the seeder does not have it
      expect(asked[3]).toMatchObject({ peer: seeder.peerId.toString(), index: has == null ? 0 : 1 })
      if (has != null) {
        await dl.chunk(1)
        await turn()
        expect(asked.filter(a => a.peer === seeder.peerId.toString()).map(a => a.index)).toEqual([2, 1])
      }
      // the endgame keeps to the peer's queue depth (1 here) and to two copies of a chunk
      expect(most.peer.get(seeder.peerId.toString())).toBe(1)
      expectTwoCopiesAtMost(asked)
      dl.fail(new Error('test over'))
      await until(() => asked.every(a => a.settled), 10_000, 'the requests cancelled')
    }
  }, 30_000)

  it(`a peer that refuses as CHOKED is not blamed: it is asked again after ${CHOKED_RETRY_MS} ms (no session to say it unchoked)`, async () => {
    choking = true
    const { fetcher, asked } = recording(leecher.services.exchange, cids)
    const dl = new Download({ chunks: cids.slice(0, 2), fetcher, sink: new MapStore(), perPeerInFlight: 2 })
    dl.addPeer(choker.peerId)
    dl.noMorePeers()
    await dl.start()
    await until(() => asked.length === 2 && asked.every(a => a.settled), 10_000, 'both requests refused')
    expect(dl.progress().peersChoking).toBe(1)
    choking = false
    const refusedAt = performance.now()
    await dl.done
    // nothing was sent while it choked; then each chunk once more
    expect(asked.length).toBe(4)
    expect(asked[2].at - refusedAt).toBeGreaterThanOrEqual(CHOKED_RETRY_MS - 200)
    expect(dl.bannedPeers()).toEqual([])
    expect(dl.progress()).toMatchObject({ peersChoking: 0, chunksByPeer: { [choker.peerId.toString()]: 2 } })
  }, 30_000)

  it('a peer that fails maxPeerFailures requests in a row is banned, and its chunks come from another', async () => {
    const { fetcher, asked } = recording(leecher.services.exchange, cids)
    const dl = new Download({ chunks: cids.slice(0, 6), fetcher, sink: new MapStore(), perPeerInFlight: 1, maxPeerFailures: 2, strategy: 'sequential' })
    dl.addPeer(failing.peerId)
    dl.addPeer(seeder.peerId)
    dl.noMorePeers()
    await dl.start()
    await dl.done
    expect(dl.bannedPeers()).toEqual([failing.peerId.toString()])
    expect(asked.filter(a => a.peer === failing.peerId.toString()).length).toBe(2)
    expect(dl.progress().chunksByPeer[seeder.peerId.toString()]).toBe(6)
  })

  it('a sink that cannot store fails the download with its error and blames no peer', async () => {
    const err = Object.assign(new Error('ENOSPC: no space left on device'), { name: 'StoreIOError' })
    const sink = new MapStore()
    sink.put = async () => { throw err }
    const dl = new Download({ chunks: cids.slice(0, 4), fetcher: exchangeFetcher(leecher.services.exchange), sink })
    dl.addPeer(seeder.peerId)
    dl.noMorePeers()
    await dl.start()
    await expect(dl.done).rejects.toBe(err)
    expect(dl.bannedPeers()).toEqual([])
  })
})
