import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash, randomBytes } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { chunkExchange, type ChunkExchange } from '@codio/exchange'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { Download, ChunkUnavailableError } from '../src/index.js'
import { until } from '@codio/testing'
import { MapStore } from './helpers.js'
import { exchangeFetcher } from '../src/exchange-fetcher.js'

type Node = P2PNode<{ exchange: ChunkExchange }>

function cidOf (bytes: Uint8Array): CID {
  return CID.createV1(0x55, Digest.create(0x12, createHash('sha256').update(bytes).digest()))
}


/** Answers every request, correctly, only after a long stall. */
class StallingStore extends MapStore {
  answered = 0
  override async get (cid: CID): Promise<Uint8Array | undefined> {
    await new Promise(resolve => setTimeout(resolve, 4000))
    this.answered++
    return super.get(cid)
  }
}

/** Answers `free` at once and every other block once `gate` resolves. */
class GatedStore extends MapStore {
  constructor (readonly free: string, readonly gate: Promise<void>) { super() }
  override async get (cid: CID): Promise<Uint8Array | undefined> {
    if (cid.toString() !== this.free) await this.gate
    return await super.get(cid)
  }
}

/** Serves garbage for every block it is asked for. */
class LyingStore extends MapStore {
  override async get (cid: CID): Promise<Uint8Array | undefined> {
    return (await super.get(cid)) == null ? undefined : randomBytes(1024)
  }
}

async function node (blocks: MapStore): Promise<Node> {
  return await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks, requestTimeout: 5000 }) } })
}

describe('swarm download over real libp2p connections', () => {
  const chunks = Array.from({ length: 40 }, () => randomBytes(16 * 1024))
  const cids = chunks.map(cidOf)
  const seeders: Node[] = []
  let liar: Node
  let leecher: Node
  let sink: MapStore

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      const store = new MapStore()
      chunks.forEach((c, j) => { store.blocks.set(cids[j].toString(), c) })
      seeders.push(await node(store))
    }
    const lies = new LyingStore()
    chunks.forEach((c, j) => { lies.blocks.set(cids[j].toString(), c) })
    liar = await node(lies)
    sink = new MapStore()
    leecher = await node(sink)
    for (const s of [...seeders, liar]) await leecher.dial(s.getMultiaddrs()[0])
  })

  afterAll(async () => {
    await Promise.all([...seeders, liar, leecher].map(async n => n.stop()))
  })

  it('fetches every chunk, from every seeder, verified, and drops a peer that sends bad data', async () => {
    const dl = new Download({ chunks: cids, fetcher: exchangeFetcher(leecher.services.exchange), sink, perPeerInFlight: 2 })
    for (const s of [liar, ...seeders]) dl.addPeer(s.peerId)
    dl.noMorePeers()
    await dl.start()
    await dl.done
    for (let i = 0; i < chunks.length; i++) {
      expect(Buffer.compare(sink.blocks.get(cids[i].toString())!, chunks[i])).toBe(0)
    }
    const byPeer = dl.progress().chunksByPeer
    for (const s of seeders) expect(byPeer[s.peerId.toString()]).toBeGreaterThan(0)
    expect(byPeer[liar.peerId.toString()]).toBe(0)
    const liarStats = leecher.services.exchange.peerStats().get(liar.peerId.toString())!
    // banned after the second bad chunk: it is never asked again
    expect(liarStats.verificationFailures).toBe(2)
  })

  it('resolves a reader waiting on a chunk as soon as that chunk is stored, while the rest is still held back', async () => {
    // a seeder that answers chunk 0 at once and every other chunk only once the test lets it
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    const held = new GatedStore(cids[0].toString(), gate)
    chunks.forEach((c, j) => { held.blocks.set(cids[j].toString(), c) })
    const slow = await node(held)
    await leecher.dial(slow.getMultiaddrs()[0])
    const fresh = new MapStore()
    const dl = new Download({ chunks: cids, fetcher: exchangeFetcher(leecher.services.exchange), sink: fresh, perPeerInFlight: 40, maxInFlight: 40 })
    dl.addPeer(slow.peerId)
    dl.noMorePeers()
    try {
      await dl.start()
      // a reader resolved only at the end of the download would wait for the gate: it never opens first
      const first = await Promise.race([dl.chunk(0).then(() => 'chunk 0'), new Promise(resolve => setTimeout(() => resolve('timeout'), 10_000).unref())])
      expect(first).toBe('chunk 0')
      expect(fresh.blocks.has(cids[0].toString())).toBe(true)
      expect(fresh.blocks.size).toBe(1)
      expect(dl.progress().chunksDone).toBe(1)
    } finally {
      release()
    }
    await dl.done
    expect(fresh.blocks.size).toBe(40)
    await slow.stop()
  })

  it('waits for a provider that left to come back (a dropped link) instead of failing at once, up to the stall timeout', async () => {
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    const held = new GatedStore(cids[0].toString(), gate)
    chunks.forEach((c, j) => { held.blocks.set(cids[j].toString(), c) })
    const only = await node(held)
    await leecher.dial(only.getMultiaddrs()[0])
    const fresh = new MapStore()
    const dl = new Download({ chunks: cids.slice(0, 8), fetcher: exchangeFetcher(leecher.services.exchange), sink: fresh, stallTimeoutMs: 10_000 })
    dl.addPeer(only.peerId)
    dl.noMorePeers()
    try {
      await dl.start()
      await dl.chunk(0)
      // its session closed: the only provider is gone, with chunks 1-7 still missing
      dl.removePeer(only.peerId)
      let settled = false
      dl.done.then(() => { settled = true }, () => { settled = true })
      await new Promise(resolve => setTimeout(resolve, 300))
      expect(settled).toBe(false)
      // … and back (redialled), well within the stall timeout
      release()
      dl.addPeer(only.peerId)
      await dl.done
      expect(fresh.blocks.size).toBe(8)
    } finally {
      release()
      await only.stop()
    }
  })

  it('fetches only the chunks of a range', async () => {
    const fresh = new MapStore()
    const dl = new Download({ chunks: cids, first: 10, last: 12, fetcher: exchangeFetcher(leecher.services.exchange), sink: fresh })
    dl.addPeer(seeders[1].peerId)
    dl.noMorePeers()
    await dl.start()
    await dl.done
    expect([...fresh.blocks.keys()].sort()).toEqual([cids[10], cids[11], cids[12]].map(String).sort())
  })

  it('reconfigure() raises the requests in flight of a running download at once, and refuses bad limits', async () => {
    const stalled = new StallingStore()
    chunks.forEach((c, j) => { stalled.blocks.set(cids[j].toString(), c) })
    const slow = await node(stalled)
    await leecher.dial(slow.getMultiaddrs()[0])
    // the real exchange, counting the requests the download sends
    let asked = 0
    const real = exchangeFetcher(leecher.services.exchange)
    const fetcher = {
      fetch: async (peer: any, cid: CID, options?: { signal?: AbortSignal }) => {
        asked++
        return await real.fetch(peer, cid, options)
      }
    }
    try {
      const dl = new Download({ chunks: cids.slice(0, 8), fetcher, sink: new MapStore(), perPeerInFlight: 1, maxInFlight: 1 })
      dl.addPeer(slow.peerId)
      await dl.start()
      await until(() => asked >= 1, 15_000, 'the first request')
      await new Promise(resolve => setImmediate(resolve))
      expect(asked).toBe(1)
      expect(() => dl.reconfigure({ maxInFlight: 0 })).toThrow(RangeError)
      expect(() => dl.reconfigure({ perPeerInFlight: 2, strategy: 'nope' as any })).toThrow(RangeError)
      await new Promise(resolve => setImmediate(resolve))
      expect(asked).toBe(1)
      dl.reconfigure({ perPeerInFlight: 4, maxInFlight: 4 })
      // sent in the same turn (the fetch itself starts a microtask later)
      await new Promise(resolve => setImmediate(resolve))
      expect(asked).toBe(4)
      dl.fail(new Error('test over'))
    } finally {
      await slow.stop()
    }
  })

  it('endgame: a stalled peer cannot hold back the end of a download', async () => {
    const stalled = new StallingStore()
    chunks.forEach((c, j) => { stalled.blocks.set(cids[j].toString(), c) })
    const slow = await node(stalled)
    await leecher.dial(slow.getMultiaddrs()[0])
    try {
      const fresh = new MapStore()
      const dl = new Download({ chunks: cids.slice(0, 8), fetcher: exchangeFetcher(leecher.services.exchange), sink: fresh, perPeerInFlight: 4 })
      dl.addPeer(slow.peerId)
      dl.addPeer(seeders[2].peerId)
      dl.noMorePeers()
      await dl.start()
      await dl.done
      // every chunk came from the healthy peer before the stalled one answered anything
      expect(stalled.answered).toBe(0)
      expect(dl.progress().chunksByPeer[seeders[2].peerId.toString()]).toBe(8)
      expect(fresh.blocks.size).toBe(8)
    } finally {
      await slow.stop()
    }
  })

  it('fails with ChunkUnavailableError when no peer has a chunk', async () => {
    const unknown = cidOf(randomBytes(32))
    const dl = new Download({ chunks: [cids[0], unknown], fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore() })
    for (const s of seeders) dl.addPeer(s.peerId)
    dl.noMorePeers()
    await dl.start()
    await expect(dl.done).rejects.toBeInstanceOf(ChunkUnavailableError)
  })

  it('waits for a peer still downloading (partial bitfield) to announce a chunk, and fails after the stall timeout if none does', async () => {
    const { Bitfield } = await import('../src/index.js')
    // a seeder that shows only chunk 0 at first, like a super-seed (BEP 16), then the rest
    const dl = new Download({ chunks: cids.slice(0, 4), fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore(), stallTimeoutMs: 3000 })
    const shown = new Bitfield(4)
    shown.set(0)
    dl.addPeer(seeders[0].peerId, shown)
    dl.noMorePeers()
    await dl.start()
    await dl.chunk(0)
    await new Promise(resolve => setTimeout(resolve, 500))
    // no peer holds chunks 1–3 yet: the download waits instead of failing
    expect(dl.progress().chunksDone).toBe(1)
    for (const i of [1, 2, 3]) dl.have(seeders[0].peerId, i)
    await dl.done

    const stuck = new Download({ chunks: cids.slice(0, 2), fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore(), stallTimeoutMs: 1000 })
    const one = new Bitfield(2)
    one.set(0)
    stuck.addPeer(seeders[0].peerId, one)
    stuck.noMorePeers()
    const t0 = Date.now()
    await stuck.start()
    await expect(stuck.done).rejects.toBeInstanceOf(ChunkUnavailableError)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900)
  })

  it('completes from the remaining peers when one is stopped mid-download', async () => {
    const many = Array.from({ length: 200 }, () => randomBytes(32 * 1024))
    const manyCids = many.map(cidOf)
    const holders: Node[] = []
    for (let i = 0; i < 3; i++) {
      const store = new MapStore()
      many.forEach((c, j) => { store.blocks.set(manyCids[j].toString(), c) })
      holders.push(await node(store))
      await leecher.dial(holders[i].getMultiaddrs()[0])
    }
    try {
      const fresh = new MapStore()
      const dl = new Download({ chunks: manyCids, fetcher: exchangeFetcher(leecher.services.exchange), sink: fresh, perPeerInFlight: 1 })
      for (const h of holders) dl.addPeer(h.peerId)
      dl.noMorePeers()
      await dl.start()
      await dl.chunk(20)
      await holders[0].stop()
      await dl.done
      expect(fresh.blocks.size).toBe(200)
    } finally {
      await Promise.all(holders.map(async h => h.stop()))
    }
  })
})
