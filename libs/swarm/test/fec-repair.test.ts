import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import { chunkCid, MIN_CHUNK_SIZE } from '@codio/content'
import { chunkExchange, type ChunkExchange } from '@codio/exchange'
import { FecEncoder, fecPlan } from '@codio/fec'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { Download, ChunkUnavailableError } from '../src/index.js'
import { MapStore } from './helpers.js'

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

  function download (sink: MapStore, peers: Node[], range?: { first: number, last: number }): Download {
    const dl = new Download({ chunks: cids, ...range, fetcher: leecher.services.exchange, sink, fec: fecPlan(manifest) })
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
    const dl = download(sink, [origin])
    await dl.start()
    await dl.done
    expectExact(sink, data.map((_, i) => i))
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
    await expect(dl.done).rejects.toThrow(/FEC group/)
  })
})
