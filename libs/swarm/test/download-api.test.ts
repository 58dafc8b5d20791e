/**
 * The Download's public surface over real libp2p chunk exchanges (issue 21: mutants of
 * download.ts that the end-to-end download tests did not see): resuming from a sink that
 * already holds chunks, limit checks, a reader's priority and its errors, progress figures
 * (bytes, rate, peers, chokes), choking, a peer removed with requests in flight, a download
 * aborted or failed, and an adaptive request queue's first depth.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { chunkCid } from '@codio/content'
import { chunkExchange, type ChunkExchange } from '@codio/exchange'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { ADAPTIVE_MIN_DEPTH, MAX_QUEUE_BYTES } from '../src/constants.js'
import { Bitfield, ChunkUnavailableError, Download, DownloadAbortedError, type BlockFetcher } from '../src/index.js'
import { until } from '@codio/testing'
import { MapStore } from './helpers.js'
import { exchangeFetcher } from '../src/exchange-fetcher.js'

type Node = P2PNode<{ exchange: ChunkExchange }>

const CHUNK = 16 * 1024

/** Answers a request only once the test opens the gate (a peer that holds a request). */
class HeldStore extends MapStore {
  private open!: () => void
  readonly gate = new Promise<void>(resolve => { this.open = resolve })
  release (): void { this.open() }
  override async get (cid: CID): Promise<Uint8Array | undefined> {
    await this.gate
    return await super.get(cid)
  }
}

/** One request the download sent: to whom, which chunk, and its abort signal. */
interface Asked { peer: string, index: number, signal?: AbortSignal }

/** The leecher's real exchange, recording every request (the chunk index by CID). */
function recording (exchange: ChunkExchange, cids: CID[]): { fetcher: BlockFetcher, asked: Asked[] } {
  const asked: Asked[] = []
  const index = new Map(cids.map((c, i) => [c.toString(), i]))
  const real = exchangeFetcher(exchange)
  return {
    asked,
    fetcher: {
      fetch: async (peer: PeerId, cid: CID, options?: { signal?: AbortSignal }) => {
        asked.push({ peer: peer.toString(), index: index.get(cid.toString()) ?? -1, signal: options?.signal })
        return await real.fetch(peer, cid, options)
      }
    }
  }
}

const settledWithin = async (p: Promise<unknown>, ms: number): Promise<boolean> =>
  await Promise.race([p.then(() => true, () => true), new Promise<boolean>(resolve => setTimeout(() => resolve(false), ms).unref())])

describe('Download API over real libp2p connections', () => {
  const chunks = Array.from({ length: 40 }, (_, i) => randomBytes(i === 39 ? CHUNK - 100 : CHUNK))
  const size = chunks.reduce((n, c) => n + c.length, 0)
  const cids = chunks.map(chunkCid)
  const nodes: Node[] = []
  let seeder: Node
  let second: Node
  let leecher: Node

  const node = async (blocks: MapStore): Promise<Node> => {
    const n = await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks, requestTimeout: 10_000 }) } }, nodes)
    if (leecher != null) await leecher.dial(n.getMultiaddrs()[0])
    return n
  }
  const full = <T extends MapStore>(store: T): T => {
    chunks.forEach((c, j) => { store.blocks.set(cids[j].toString(), c) })
    return store
  }

  beforeAll(async () => {
    leecher = await node(new MapStore())
    seeder = await node(full(new MapStore()))
    second = await node(full(new MapStore()))
  })

  afterAll(async () => {
    await Promise.all(nodes.map(async n => await n.stop()))
  })

  it('start() skips the chunks the sink already holds; a sink that holds them all is done without a request', async () => {
    const sink = new MapStore()
    for (const i of [0, 1, 2, 7]) sink.blocks.set(cids[i].toString(), chunks[i])
    const { fetcher, asked } = recording(leecher.services.exchange, cids)
    const dl = new Download({ chunks: cids.slice(0, 8), fetcher, sink, chunkSize: CHUNK })
    dl.addPeer(seeder.peerId)
    dl.noMorePeers()
    await dl.start()
    await dl.done
    expect(asked.map(a => a.index).sort((a, b) => a - b)).toEqual([3, 4, 5, 6])
    // bytesDone counts what was received, chunksDone what is held
    expect(dl.progress()).toMatchObject({ chunksDone: 8, chunksTotal: 8, bytesDone: 4 * CHUNK })

    const held = recording(leecher.services.exchange, cids)
    const all = new Download({ chunks: cids.slice(0, 3), fetcher: held.fetcher, sink })
    await all.start()
    // no peer, no noMorePeers(): done because nothing is missing
    expect(await settledWithin(all.done, 2000)).toBe(true)
    await all.done
    expect(held.asked).toEqual([])
  })

  it('read(): a reader gets the verified bytes the download holds for it, and undefined (read the store) for the rest', async () => {
    const sink = new MapStore()
    const dl = new Download({ chunks: cids.slice(0, 12), fetcher: exchangeFetcher(leecher.services.exchange), sink, chunkSize: CHUNK, readAhead: 4 })
    dl.addPeer(seeder.peerId)
    dl.noMorePeers()
    await dl.start()
    await dl.done
    // all 12 arrived before the reader asked: it is at 0, so 0..3 were kept
    const read: Array<Uint8Array | undefined> = []
    for (let i = 0; i < 12; i++) read.push(await dl.read(i))
    for (let i = 0; i < 12; i++) {
      if (i < 4) expect(Buffer.from(read[i]!).equals(chunks[i])).toBe(true)
      else expect(read[i]).toBeUndefined()
      expect(Buffer.from(sink.blocks.get(cids[i].toString())!).equals(chunks[i])).toBe(true)
    }
    // without readAhead nothing is held
    const plain = new Download({ chunks: cids.slice(0, 2), fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore(), chunkSize: CHUNK })
    plain.addPeer(seeder.peerId)
    await plain.start()
    expect(await plain.read(0)).toBeUndefined()
    await expect(plain.read(5)).rejects.toThrow(RangeError)
  })

  it('waits for providers until told there are no more (a chunk nobody holds yet is not a failure)', async () => {
    const dl = new Download({ chunks: cids.slice(0, 4), fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore() })
    await dl.start()
    expect(await settledWithin(dl.done, 500)).toBe(false)
    dl.addPeer(seeder.peerId)
    await dl.done
    expect(dl.progress().chunksDone).toBe(4)
  })

  it('noMorePeers() after the only peer refused a chunk fails the download at once', async () => {
    const unknown = chunkCid(randomBytes(64))
    const dl = new Download({ chunks: [cids[0], unknown], fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore() })
    dl.addPeer(seeder.peerId)
    await dl.start()
    await dl.chunk(0)
    // the seeder refused the unknown chunk; more providers may still come
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(await settledWithin(dl.done, 0)).toBe(false)
    dl.noMorePeers()
    expect(await settledWithin(dl.done, 2000)).toBe(true)
    await expect(dl.done).rejects.toBeInstanceOf(ChunkUnavailableError)
  })

  it('reconfigure() accepts 1 and "adaptive", refuses what is not an integer ≥ 1, and says which limit', async () => {
    const dl = new Download({ chunks: cids.slice(0, 2), fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore() })
    expect(() => dl.reconfigure({ perPeerInFlight: 1, maxInFlight: 1 })).not.toThrow()
    expect(() => dl.reconfigure({ perPeerInFlight: 'adaptive' })).not.toThrow()
    expect(() => dl.reconfigure({ perPeerInFlight: 0 })).toThrow(/^perPeerInFlight must be an integer ≥ 1 or "adaptive", got 0$/)
    expect(() => dl.reconfigure({ perPeerInFlight: 1.5 })).toThrow(/perPeerInFlight must be/)
    expect(() => dl.reconfigure({ maxInFlight: 0 })).toThrow(/^maxInFlight must be an integer ≥ 1, got 0$/)
    expect(() => dl.reconfigure({ maxInFlight: 2.5 })).toThrow(RangeError)
    dl.fail(new Error('test over'))
  })

  it('chunk(): a RangeError outside first..last, at once for a chunk held, the failure once failed', async () => {
    const dl = new Download({ chunks: cids, first: 10, last: 12, fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore() })
    await expect(dl.chunk(9)).rejects.toThrow(/^chunk 9 is outside this download's chunks 10..12$/)
    await expect(dl.chunk(13)).rejects.toBeInstanceOf(RangeError)
    dl.addPeer(seeder.peerId)
    dl.noMorePeers()
    await dl.start()
    await dl.chunk(10)
    await dl.chunk(12)
    await dl.done
    // held: resolves at once, however often asked
    expect(await settledWithin(dl.chunk(11), 1000)).toBe(true)

    const failing = new Download({ chunks: cids.slice(0, 4), fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore() })
    await failing.start()
    const waiting = failing.chunk(2)
    const err = new Error('gone wrong')
    failing.fail(err)
    // the first failure is the one readers see
    failing.fail(new Error('a later one'))
    await expect(waiting).rejects.toBe(err)
    await expect(failing.chunk(3)).rejects.toBe(err)
    await expect(failing.done).rejects.toBe(err)
  })

  it('an aborted signal fails the download and its readers with DownloadAbortedError', async () => {
    const held = full(new HeldStore())
    const slow = await node(held)
    const controller = new AbortController()
    const { fetcher, asked } = recording(leecher.services.exchange, cids)
    try {
      const dl = new Download({ chunks: cids.slice(0, 4), fetcher, sink: new MapStore(), signal: controller.signal })
      dl.addPeer(slow.peerId)
      await dl.start()
      const reader = dl.chunk(1)
      await until(() => asked.length > 0, 10_000, 'a request in flight')
      controller.abort()
      // the requests in flight are cancelled with it
      for (const x of asked) expect(x.signal?.aborted).toBe(true)
      await expect(dl.done).rejects.toThrow(DownloadAbortedError)
      await expect(dl.done).rejects.toThrow('download aborted')
      await expect(reader).rejects.toBeInstanceOf(DownloadAbortedError)
    } finally {
      held.release()
    }
  })

  it('a reader moves the next request to its chunk (prioritize), clamped to the range', async () => {
    const held = full(new HeldStore())
    const slow = await node(held)
    const { fetcher, asked } = recording(leecher.services.exchange, cids)
    try {
      const dl = new Download({ chunks: cids, fetcher, sink: new MapStore(), perPeerInFlight: 1, maxInFlight: 1, strategy: 'sequential', streamingWindow: 1 })
      dl.addPeer(slow.peerId)
      await dl.start()
      await until(() => asked.length === 1, 10_000, 'the first request')
      expect(asked[0].index).toBe(0)
      // a reader at chunk 30: the request after the one in flight is chunk 30
      void dl.chunk(30).catch(() => {})
      held.release()
      await until(() => asked.length >= 2, 10_000, 'the second request')
      expect(asked[1].index).toBe(30)
      await dl.done
      // past the end: clamped to the last chunk, not an error
      expect(() => dl.prioritize(1000)).not.toThrow()
      expect(() => dl.prioritize(-5)).not.toThrow()
    } finally {
      held.release()
    }
  })

  it('progress(): bytes of the range (the last chunk short), peers, chokes, and the receive rate', async () => {
    const whole = new Download({ chunks: cids, fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore(), chunkSize: CHUNK, size })
    expect(whole.progress().bytesTotal).toBe(size)
    const tail = new Download({ chunks: cids, first: 38, last: 39, fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore(), chunkSize: CHUNK, size })
    expect(tail.progress().bytesTotal).toBe(size - 38 * CHUNK)
    const one = new Download({ chunks: cids, first: 5, last: 5, fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore(), chunkSize: CHUNK, size })
    expect(one.progress().bytesTotal).toBe(CHUNK)
    // without a size: chunks × chunk size; without a chunk size: 1 MiB chunks
    expect(new Download({ chunks: cids, first: 2, last: 4, fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore(), chunkSize: CHUNK }).progress().bytesTotal).toBe(3 * CHUNK)
    expect(new Download({ chunks: cids.slice(0, 3), fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore() }).progress().bytesTotal).toBe(3 * 1024 * 1024)
    expect(new Download({ chunks: [], fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore() }).progress().bytesTotal).toBe(0)
    // an empty range (last before first) holds no bytes, however far apart the two are
    expect(new Download({ chunks: cids, first: 5, last: 2, fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore(), chunkSize: CHUNK }).progress().bytesTotal).toBe(0)

    const t0 = performance.now()
    const dl = new Download({ chunks: cids, fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore(), chunkSize: CHUNK, size })
    const t1 = performance.now()
    dl.addPeer(seeder.peerId)
    dl.addPeer(second.peerId)
    expect(dl.progress()).toMatchObject({ peers: 2, peersChoking: 0 })
    dl.setChoked(second.peerId, true)
    expect(dl.progress().peersChoking).toBe(1)
    dl.setChoked(second.peerId, false)
    expect(dl.progress().peersChoking).toBe(0)
    dl.noMorePeers()
    await dl.start()
    await dl.done
    const t2 = performance.now()
    const p = dl.progress()
    const t3 = performance.now()
    expect(p.bytesDone).toBe(size)
    expect(p.chunksDone).toBe(40)
    // the rate is the bytes of the last 5 s over the time since the start (under 5 s here)
    expect(t3 - t0).toBeLessThan(5000)
    expect(p.rate).toBeGreaterThanOrEqual(size / ((t3 - t0) / 1000))
    expect(p.rate).toBeLessThanOrEqual(size / ((t2 - t1) / 1000))
    dl.removePeer(second.peerId)
    expect(dl.progress().peers).toBe(1)
  })

  it('the receive rate forgets samples older than 5 s', async () => {
    const dl = new Download({ chunks: cids.slice(0, 4), fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore(), chunkSize: CHUNK })
    dl.addPeer(seeder.peerId)
    dl.noMorePeers()
    await dl.start()
    await dl.done
    expect(dl.progress().rate).toBeGreaterThan(0)
    await new Promise(resolve => setTimeout(resolve, 5200))
    expect(dl.progress().rate).toBe(0)
  })

  it('a choked peer is sent nothing until it unchokes; an unknown peer\'s choke or removal is ignored', async () => {
    const { fetcher, asked } = recording(leecher.services.exchange, cids)
    const dl = new Download({ chunks: cids.slice(0, 6), fetcher, sink: new MapStore() })
    dl.addPeer(seeder.peerId)
    dl.setChoked(seeder.peerId, true)
    // a known peer added again (a second session) stays choked
    dl.addPeer(seeder.peerId)
    expect(dl.progress().peersChoking).toBe(1)
    expect(() => { dl.setChoked(second.peerId, true) }).not.toThrow()
    expect(() => { dl.removePeer(second.peerId) }).not.toThrow()
    await dl.start()
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(asked).toEqual([])
    dl.setChoked(seeder.peerId, false)
    await dl.done
    expect(asked.length).toBe(6)
  })

  it('have(): an index outside the content, or from a peer not in the download, is ignored', async () => {
    // a long stall timeout: only the have() itself can send the requests in time
    const dl = new Download({ chunks: cids.slice(0, 4), fetcher: exchangeFetcher(leecher.services.exchange), sink: new MapStore(), stallTimeoutMs: 20_000 })
    const some = new Bitfield(4)
    some.set(3)
    dl.addPeer(seeder.peerId, some)
    expect(() => { dl.have(seeder.peerId, -1) }).not.toThrow()
    expect(() => { dl.have(seeder.peerId, 4) }).not.toThrow()
    expect(() => { dl.have(second.peerId, 1) }).not.toThrow()
    dl.noMorePeers()
    await dl.start()
    await dl.chunk(3)
    // idle: nothing in flight, nothing left to pick until a have()
    await new Promise(resolve => setTimeout(resolve, 200))
    // announced while the download runs: each is requested at once (chunk 0 too)
    for (const i of [0, 1, 2]) dl.have(seeder.peerId, i)
    expect(await settledWithin(dl.done, 5000)).toBe(true)
    await dl.done
    expect(dl.progress().chunksByPeer).toEqual({ [seeder.peerId.toString()]: 4 })
  })

  it('removePeer() cancels its requests in flight at once, and they go to another peer', async () => {
    const heldA = full(new HeldStore())
    const heldB = full(new HeldStore())
    const a = await node(heldA)
    const b = await node(heldB)
    const { fetcher, asked } = recording(leecher.services.exchange, cids)
    try {
      const dl = new Download({ chunks: cids.slice(0, 4), fetcher, sink: new MapStore(), perPeerInFlight: 2 })
      dl.addPeer(a.peerId)
      dl.addPeer(b.peerId)
      await dl.start()
      await until(() => asked.length === 4, 10_000, 'two requests to each peer')
      const toA = asked.filter(x => x.peer === a.peerId.toString())
      expect(toA.length).toBe(2)
      dl.removePeer(a.peerId)
      for (const x of toA) {
        expect(x.signal?.aborted).toBe(true)
        expect(String(x.signal?.reason?.message)).toContain(`peer ${a.peerId.toString()} is gone`)
      }
      for (const x of asked.filter(x => x.peer === b.peerId.toString())) expect(x.signal?.aborted).toBe(false)
      heldB.release()
      dl.noMorePeers()
      await dl.done
      expect(dl.progress().chunksByPeer[b.peerId.toString()]).toBe(4)
      // a failure after the end changes nothing, and a peer that left and is found again is taken
      dl.fail(new Error('too late'))
      dl.addPeer(a.peerId)
      expect(dl.progress().peers).toBe(2)
    } finally {
      heldA.release()
      heldB.release()
    }
  })

  it('after a failure, a new peer is not taken', async () => {
    const { fetcher, asked } = recording(leecher.services.exchange, cids)
    const dl = new Download({ chunks: cids.slice(0, 4), fetcher, sink: new MapStore() })
    await dl.start()
    dl.fail(new ChunkUnavailableError('test'))
    dl.addPeer(seeder.peerId)
    expect(dl.progress().peers).toBe(0)
    await new Promise(resolve => setImmediate(resolve))
    expect(asked).toEqual([])
  })

  it('"adaptive" queues ADAPTIVE_MIN_DEPTH requests to a peer whose rate is not known yet', async () => {
    const held = full(new HeldStore())
    const slow = await node(held)
    const { fetcher, asked } = recording(leecher.services.exchange, cids)
    try {
      const dl = new Download({ chunks: cids.slice(0, 10), fetcher, sink: new MapStore(), perPeerInFlight: 'adaptive', chunkSize: CHUNK })
      dl.addPeer(slow.peerId)
      await dl.start()
      await until(() => asked.length >= ADAPTIVE_MIN_DEPTH, 10_000, 'the first requests')
      await new Promise(resolve => setTimeout(resolve, 200))
      expect(asked.length).toBe(ADAPTIVE_MIN_DEPTH)
      held.release()
      dl.noMorePeers()
      await dl.done
    } finally {
      held.release()
    }
  })

  it('a peer\'s queue never holds more than MAX_QUEUE_BYTES of chunks, whatever the depth asked for', async () => {
    const held = full(new HeldStore())
    const slow = await node(held)
    const { fetcher, asked } = recording(leecher.services.exchange, cids)
    try {
      // declared 8 MiB chunks: 16 requests asked for, MAX_QUEUE_BYTES / 8 MiB = 2 sent
      const dl = new Download({ chunks: cids.slice(0, 10), fetcher, sink: new MapStore(), perPeerInFlight: 16, chunkSize: 8 * 1024 * 1024 })
      dl.addPeer(slow.peerId)
      await dl.start()
      await until(() => asked.length >= 2, 10_000, 'the first requests')
      await new Promise(resolve => setTimeout(resolve, 200))
      expect(asked.length).toBe(MAX_QUEUE_BYTES / (8 * 1024 * 1024))
      held.release()
      dl.noMorePeers()
      await dl.done
    } finally {
      held.release()
    }
  })
})
