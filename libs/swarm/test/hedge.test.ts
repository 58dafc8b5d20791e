/**
 * Hedged requests before the endgame (issue 19 defect 9), over real libp2p connections: a peer
 * that announces every chunk and stalls every request it accepts (a hoarder) holds up the
 * chunks asked of it for a few median chunk times, not until the endgame or its timeout, and is
 * demoted to one request at a time.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash, randomBytes } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { chunkExchange, type ChunkExchange } from '@codio/exchange'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { Download } from '../src/index.js'
import { MapStore } from './helpers.js'
import { exchangeFetcher } from '../src/exchange-fetcher.js'

type Node = P2PNode<{ exchange: ChunkExchange }>

const cidOf = (bytes: Uint8Array): CID => CID.createV1(0x55, Digest.create(0x12, createHash('sha256').update(bytes).digest()))

describe('hedged requests', () => {
  const chunks = Array.from({ length: 80 }, () => randomBytes(16 * 1024))
  const cids = chunks.map(cidOf)
  let honest: Node
  let hoarder: Node
  let leecher: Node
  let stalledAsks = 0

  beforeAll(async () => {
    const full = (): MapStore => {
      const s = new MapStore()
      chunks.forEach((c, j) => { s.blocks.set(cids[j].toString(), c) })
      return s
    }
    const make = async (init: Parameters<typeof chunkExchange>[0]): Promise<Node> =>
      await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange(init) } })
    // the honest peer serves a chunk every 50 ms: the whole content takes four seconds
    honest = await make({ blocks: full(), beforeServe: async (_peer, _bytes, signal) => { await new Promise(resolve => setTimeout(resolve, 50)); signal?.throwIfAborted() } })
    // the hoarder accepts every request and stalls it (until the requester cancels)
    hoarder = await make({ blocks: full(), beforeServe: async (_peer, _bytes, signal) => { stalledAsks++; await new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason))) } })
    leecher = await make({ blocks: new MapStore(), requestTimeout: 10_000 })
    await leecher.dial(honest.getMultiaddrs()[0])
    await leecher.dial(hoarder.getMultiaddrs()[0])
  })

  afterAll(async () => {
    await Promise.all([honest, hoarder, leecher].map(async n => await n.stop()))
  })

  it('asks another holder for a chunk a stalling peer sits on, long before the endgame, and demotes that peer', async () => {
    const sink = new MapStore()
    const dl = new Download({ chunks: cids, fetcher: exchangeFetcher(leecher.services.exchange), sink, perPeerInFlight: 4 })
    dl.addPeer(hoarder.peerId)
    dl.addPeer(honest.peerId)
    dl.noMorePeers()
    const t0 = performance.now()
    await dl.start()
    // the streaming window (chunks 0..7) is asked first, half of it of the hoarder
    await Promise.all(Array.from({ length: 8 }, async (_, i) => await dl.chunk(i)))
    const windowMs = performance.now() - t0
    await dl.done
    const totalMs = performance.now() - t0
    console.log(`first 8 chunks after ${windowMs.toFixed(0)} ms, all 80 after ${totalMs.toFixed(0)} ms; ${stalledAsks} requests reached the hoarder`)
    for (let i = 0; i < chunks.length; i++) expect(Buffer.compare(sink.blocks.get(cids[i].toString())!, chunks[i])).toBe(0)
    expect(dl.progress().chunksByPeer[hoarder.peerId.toString()]).toBe(0)
    // the endgame would have freed them only once every other chunk was asked (~4 s, the end)
    expect(windowMs).toBeLessThan(0.5 * totalMs)
    // demoted: one request at a time after the first hedge, not four after four
    expect(stalledAsks).toBeLessThanOrEqual(6)
  }, 30_000)

  it('a demoted peer has one request at a time until it delivers, even when it is never banned', async () => {
    // never banned, so only the demotion keeps the hoarder's share down; the real exchange,
    // watching the requests sent to the hoarder: how many, and how many went out while another
    // was still outstanding there
    let asks = 0
    let outstanding = 0
    let sentWhileBusy = 0
    const real = exchangeFetcher(leecher.services.exchange)
    const fetcher = {
      fetch: async (peer: PeerId, cid: CID, options?: { signal?: AbortSignal }) => {
        if (!peer.equals(hoarder.peerId)) return await real.fetch(peer, cid, options)
        if (++asks > 4 && outstanding > 0) sentWhileBusy++
        outstanding++
        try {
          return await real.fetch(peer, cid, options)
        } finally {
          outstanding--
        }
      }
    }
    const dl = new Download({ chunks: cids, fetcher, sink: new MapStore(), perPeerInFlight: 4, maxPeerFailures: 1_000_000 })
    dl.addPeer(hoarder.peerId)
    dl.addPeer(honest.peerId)
    dl.noMorePeers()
    const t0 = performance.now()
    await dl.start()
    await dl.done
    const totalMs = performance.now() - t0
    console.log(`${asks} requests reached the hoarder in ${totalMs.toFixed(0)} ms, ${sentWhileBusy} while another was outstanding there`)
    expect(dl.bannedPeers()).toEqual([])
    // its first 4 at once; once hedged, one at a time: a new request only when none is left
    expect(asks).toBeGreaterThan(4)
    expect(sentWhileBusy).toBe(0)
  }, 30_000)
})
