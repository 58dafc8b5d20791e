import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import { chunkCid, MIN_CHUNK_SIZE } from '@codio/content'
import { chunkExchange, type ChunkExchange } from '@codio/exchange'
import { FecEncoder, fecPlan } from '@codio/fec'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { Download, ChunkUnavailableError, type BlockFetcher, type DownloadInit } from '../src/index.js'
import { MapStore } from './helpers.js'
import { exchangeFetcher } from '../src/exchange-fetcher.js'

type Node = P2PNode<{ exchange: ChunkExchange }>


/** Serves flipped bytes for the blocks listed in `corrupt`, the truth for the rest. */
class CorruptingStore extends MapStore {
  constructor (readonly corrupt: Set<string>) { super() }
  override async get (cid: CID): Promise<Uint8Array | undefined> {
    const bytes = await super.get(cid)
    if (bytes == null || !this.corrupt.has(cid.toString())) return bytes
    const bad = Uint8Array.from(bytes)
    bad[0] ^= 0xff
    return bad
  }
}

/** A sink that loses the blocks listed in `lose` when they are first read back (evicted). */
class LosingStore extends MapStore {
  constructor (readonly lose: Set<string>) { super() }
  override async get (cid: CID): Promise<Uint8Array | undefined> {
    if (this.lose.delete(cid.toString())) this.blocks.delete(cid.toString())
    return await super.get(cid)
  }
}

async function node (blocks: MapStore): Promise<Node> {
  return await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks, requestTimeout: 5000 }) } })
}

const K = 4
const M = 2
/** 10 data chunks (the last one short) in groups of 4, 4, 2, each with 2 parity chunks */
const data = Array.from({ length: 10 }, (_, i) => randomBytes(i === 9 ? 5000 : MIN_CHUNK_SIZE))
const cids = data.map(chunkCid)
const parity: Uint8Array[][] = []
const manifest = { size: 9 * MIN_CHUNK_SIZE + 5000, chunkSize: MIN_CHUNK_SIZE, chunks: cids, fec: { dataShards: K, parityShards: M, groups: [] as Array<{ parity: CID[] }> } }

describe('FEC repair in a swarm download, over real libp2p connections', () => {
  const nodes: Node[] = []
  let leecher: Node

  /** A peer holding `data` chunks (by index) and every parity chunk when `withParity`. */
  async function holder (store: MapStore, chunks: number[], withParity: boolean): Promise<Node> {
    for (const i of chunks) store.blocks.set(cids[i].toString(), data[i])
    if (withParity) parity.flat().forEach(p => store.blocks.set(chunkCid(p).toString(), p))
    const n = await node(store)
    nodes.push(n)
    await leecher.dial(n.getMultiaddrs()[0])
    return n
  }

  /** The leecher's real exchange, recording each request as [peer, block index] (parity from 10 on). */
  function recording (): { fetcher: BlockFetcher, asked: Array<[string, number]> } {
    const blocks = [...cids, ...manifest.fec.groups.flatMap(g => g.parity)].map(c => c.toString())
    const asked: Array<[string, number]> = []
    const real = exchangeFetcher(leecher.services.exchange)
    const fetcher: BlockFetcher = {
      fetch: async (peer, cid, options) => {
        asked.push([peer.toString(), blocks.indexOf(cid.toString())])
        return await real.fetch(peer, cid, options)
      }
    }
    return { fetcher, asked }
  }

  function download (sink: MapStore, peers: Node[], range?: { first: number, last: number }, init?: Partial<DownloadInit>): Download {
    const dl = new Download({ chunks: cids, ...range, fetcher: exchangeFetcher(leecher.services.exchange), sink, fec: fecPlan(manifest), ...init })
    for (const p of peers) dl.addPeer(p.peerId)
    dl.noMorePeers()
    return dl
  }

  function expectExact (sink: MapStore, indexes: number[]): void {
    for (const i of indexes) expect(Buffer.compare(sink.blocks.get(cids[i].toString())!, data[i])).toBe(0)
  }

  beforeAll(async () => {
    const enc = new FecEncoder({ dataShards: K, parityShards: M })
    for (const d of data) {
      const p = await enc.push(d)
      if (p != null) parity.push(p)
    }
    parity.push((await enc.flush())!)
    manifest.fec.groups = parity.map(p => ({ parity: p.map(chunkCid) }))
    leecher = await node(new MapStore())
  })

  afterAll(async () => {
    await Promise.all([...nodes, leecher].map(async n => n.stop()))
  })

  it('rebuilds data chunks that exist nowhere from the parity that does', async () => {
    // chunks 1 and 2 (group 0) and 9 (the short last chunk, group 2) are gone everywhere
    const origin = await holder(new MapStore(), [0, 3, 4, 5, 6, 7, 8], true)
    const sink = new MapStore()
    const rebuilt: Array<[number, number[], number]> = []
    const dl = download(sink, [origin], undefined, { onRebuilt: (group, chunks, bytes) => { rebuilt.push([group, chunks, bytes]) } })
    await dl.start()
    await dl.done
    expectExact(sink, data.map((_, i) => i))
    // once per group that needed it, with the chunks rebuilt and their bytes (group 1 lost nothing)
    expect(rebuilt.sort((a, b) => a[0] - b[0])).toEqual([[0, [1, 2], 2 * MIN_CHUNK_SIZE], [2, [9], 5000]])
    const p = dl.progress()
    expect(p.chunksRebuilt).toBe(3)
    // group 0 needed 2 parity chunks, group 2 needed 1: no more than that was fetched
    expect(p.parityFetched).toBe(3)
    expect(p.chunksDone).toBe(10)
  })

  it('rebuilds chunks whose only holder serves corrupted bytes, and bans the liar', async () => {
    const corrupt = new Set([cids[5].toString(), cids[6].toString()])
    const liar = await holder(new CorruptingStore(corrupt), data.map((_, i) => i), false)
    // the honest origin lacks chunks 5 and 6; it has the parity
    const origin = await holder(new MapStore(), [0, 1, 2, 3, 4, 7, 8, 9], true)
    const sink = new MapStore()
    const dl = download(sink, [liar, origin])
    await dl.start()
    await dl.done
    expectExact(sink, data.map((_, i) => i))
    expect(dl.progress().chunksRebuilt).toBe(2)
    expect(leecher.services.exchange.peerStats().get(liar.peerId.toString())?.verificationFailures).toBeGreaterThanOrEqual(2)
    // banned after its second bad chunk, the honest origin alone
    expect(dl.bannedPeers()).toEqual([liar.peerId.toString()])
  })

  it('repairs a range: fetches the group members outside it, stores exactly the range\'s chunk', async () => {
    const origin = await holder(new MapStore(), [0, 1, 2, 3, 5, 6, 7, 8, 9], true) // chunk 4 is gone
    const sink = new MapStore()
    const dl = download(sink, [origin], { first: 4, last: 4 })
    await dl.start()
    await dl.chunk(4)
    await dl.done
    expectExact(sink, [4])
    expect(dl.progress()).toMatchObject({ chunksTotal: 1, chunksDone: 1, chunksRebuilt: 1, parityFetched: 1 })
    // nothing of groups 0 and 2 was touched
    for (const i of [0, 1, 2, 3, 8, 9]) expect(sink.blocks.has(cids[i].toString())).toBe(false)
  })

  it('fails with ChunkUnavailableError when a group lost more than m shards', async () => {
    // group 0 loses one chunk (rebuilt), group 1 loses 3 > m = 2: the download fails, it does not hang
    const origin = await holder(new MapStore(), [0, 2, 3, 7, 8, 9], true)
    const dl = download(new MapStore(), [origin])
    await dl.start()
    await expect(dl.done).rejects.toBeInstanceOf(ChunkUnavailableError)
    // which chunk, whom it tried, and why parity cannot help
    await expect(dl.done).rejects.toThrow(/^no reachable peer has chunk [4-7] \(\w+\); tried 1 of 1 peers \(0 gone\); its FEC group has too few shards left to rebuild it$/)
  })

  it('fetches no parity when a peer holds every data chunk, even one found after the start', async () => {
    const origin = await holder(new MapStore(), data.map((_, i) => i), true)
    const sink = new MapStore()
    const { fetcher, asked } = recording()
    const dl = new Download({ chunks: cids, fetcher, sink, fec: fecPlan(manifest) })
    await dl.start()
    // no provider known yet: nothing can be fetched, and nothing is to be repaired either
    await new Promise(resolve => setTimeout(resolve, 200))
    dl.addPeer(origin.peerId)
    dl.noMorePeers()
    await dl.done
    expectExact(sink, data.map((_, i) => i))
    expect(dl.progress()).toMatchObject({ chunksRebuilt: 0, parityFetched: 0 })
    expect(asked.map(([, i]) => i).sort((a, b) => a - b)).toEqual(data.map((_, i) => i))
  })

  it('resumes a repair with the parity its sink already holds, fetching none of it again', async () => {
    // a sink left by an earlier download: data chunks 0 and 3 and group 0's two parity chunks
    const sink = new MapStore()
    for (const i of [0, 3]) sink.blocks.set(cids[i].toString(), data[i])
    for (const p of parity[0]) sink.blocks.set(chunkCid(p).toString(), p)
    // chunks 1 and 2 are gone everywhere
    const origin = await holder(new MapStore(), [0, 3, 4, 5, 6, 7, 8, 9], true)
    const { fetcher, asked } = recording()
    const dl = download(sink, [origin], undefined, { fetcher })
    await dl.start()
    await dl.done
    expectExact(sink, data.map((_, i) => i))
    expect(dl.progress()).toMatchObject({ chunksRebuilt: 2, parityFetched: 0 })
    expect(asked.filter(([, i]) => i >= data.length)).toEqual([])
  })

  it('rebuilds from the second parity shard when the first is gone too', async () => {
    // chunk 1 and group 0's first parity chunk are gone everywhere
    const store = new MapStore()
    parity.flat().forEach(p => store.blocks.set(chunkCid(p).toString(), p))
    store.blocks.delete(chunkCid(parity[0][0]).toString())
    const origin = await holder(store, [0, 2, 3, 4, 5, 6, 7, 8, 9], false)
    const { fetcher, asked } = recording()
    const sink = new MapStore()
    const dl = download(sink, [origin], undefined, { fetcher })
    await dl.start()
    await dl.done
    expectExact(sink, data.map((_, i) => i))
    expect(dl.progress()).toMatchObject({ chunksRebuilt: 1, parityFetched: 1 })
    // no block is asked twice of the one peer: the refusals are remembered
    const keys = asked.map(([, i]) => i)
    expect(new Set(keys).size).toBe(keys.length)
  })

  it('fetches again a shard its sink lost before the rebuild, and finishes only once the group is rebuilt', async () => {
    const origin = await holder(new MapStore(), [0, 2, 3, 4, 5, 6, 7, 8, 9], true) // chunk 1 is gone
    // the sink evicts chunk 0 and the parity chunk fetched for the repair when the rebuild reads them back
    const sink = new LosingStore(new Set([cids[0].toString(), chunkCid(parity[0][0]).toString()]))
    const dl = download(sink, [origin])
    await dl.start()
    await dl.done
    expect(sink.lose.size).toBe(0)
    expectExact(sink, data.map((_, i) => i))
    expect(dl.progress()).toMatchObject({ chunksDone: 10, chunksRebuilt: 1 })
  })

  it('a rebuild that fails fails the download with ChunkUnavailableError, naming the group and the cause', async () => {
    const origin = await holder(new MapStore(), [0, 2, 3, 4, 5, 6, 7, 8, 9], true) // chunk 1 is gone
    const plan = fecPlan(manifest)!
    const cause = new Error('shard lengths disagree')
    // the real plan, but its Reed-Solomon decode throws (as on a shard of the wrong length)
    const dl = download(new MapStore(), [origin], undefined, { fec: { ...plan, rebuild: async () => { throw cause } } })
    await dl.start()
    await expect(dl.done).rejects.toBeInstanceOf(ChunkUnavailableError)
    await expect(dl.done).rejects.toThrow(/^FEC group 0 could not be rebuilt: shard lengths disagree$/)
    await expect(dl.done).rejects.toMatchObject({ cause })
  })

  it('a sink that cannot say what it holds fails the repair with its error instead of hanging', async () => {
    const origin = await holder(new MapStore(), [0, 2, 3, 4, 5, 6, 7, 8, 9], true) // chunk 1 is gone
    const err = new Error('store offline')
    const sink = new MapStore()
    // data chunks are looked up at the start; parity only when a repair starts
    const parityCids = new Set(parity.flat().map(p => chunkCid(p).toString()))
    sink.has = async (cid: CID) => { if (parityCids.has(cid.toString())) throw err; return sink.blocks.has(cid.toString()) }
    const dl = download(sink, [origin])
    await dl.start()
    await expect(dl.done).rejects.toBe(err)
  })

  it('does not wait for a provider that left when parity can rebuild what only it had', async () => {
    // chunks 1 and 2 were only at a peer that has left; the origin has the rest and the parity
    const origin = await holder(new MapStore(), [0, 3, 4, 5, 6, 7, 8, 9], true)
    const left = await holder(new MapStore(), [1, 2], false)
    const sink = new MapStore()
    // a long stall timeout: waiting for the peer that left would outlast the test
    const dl = new Download({ chunks: cids, fetcher: exchangeFetcher(leecher.services.exchange), sink, fec: fecPlan(manifest), stallTimeoutMs: 60_000 })
    dl.addPeer(left.peerId)
    dl.removePeer(left.peerId)
    dl.addPeer(origin.peerId)
    dl.noMorePeers()
    await dl.start()
    await dl.done
    expectExact(sink, data.map((_, i) => i))
    expect(dl.progress()).toMatchObject({ chunksRebuilt: 2, parityFetched: 2 })
  })
})
