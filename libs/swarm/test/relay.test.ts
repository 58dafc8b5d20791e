import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash, randomBytes } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { chunkExchange, type ChunkExchange } from '@codio/exchange'
import type { P2PNode, P2PNodeInit } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { until } from '@codio/testing'
import { Download } from '../src/index.js'
import { MapStore } from './helpers.js'
import { exchangeFetcher } from '../src/exchange-fetcher.js'

type Node = P2PNode<{ exchange: ChunkExchange }>

function cidOf (bytes: Uint8Array): CID {
  return CID.createV1(0x55, Digest.create(0x12, createHash('sha256').update(bytes).digest()))
}

describe('a node reachable only through a relay reservation serves chunks', () => {
  const nodes: Node[] = []
  const start = async (blocks: MapStore, init: Partial<P2PNodeInit<any>> = {}): Promise<Node> =>
    await startTestNode<{ exchange: ChunkExchange }>({ ...init, services: { exchange: chunkExchange({ blocks, requestTimeout: 10_000 }) } }, nodes)
  // 1 MiB chunks, the size Codio cuts content into by default: past circuit relay v2's
  // default 128 KiB cap, which the relay server lifts
  const chunks = Array.from({ length: 6 }, () => randomBytes(1024 * 1024))
  const cids = chunks.map(cidOf)
  let hidden: Node

  beforeAll(async () => {
    const relay = await start(new MapStore(), { relayServer: true })
    const held = new MapStore()
    chunks.forEach((c, i) => { held.blocks.set(cids[i].toString(), c) })
    // no listen address of its own: dialable only as <relay>/p2p-circuit/p2p/<id>
    hidden = await start(held, { listen: ['/p2p-circuit'], relayReservation: [relay.getMultiaddrs()[0].toString()] })
    await until(() => hidden.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit')), 15_000, 'a reservation on the relay')
  })

  afterAll(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
  })

  it('a downloader dials it through the relay and fetches every chunk, verified', async () => {
    expect(hidden.getMultiaddrs().every(a => a.toString().includes('/p2p-circuit'))).toBe(true)
    const fetcher = await start(new MapStore())
    await fetcher.dial(hidden.getMultiaddrs()[0])
    expect(fetcher.getConnections(hidden.peerId)[0].remoteAddr.toString()).toContain('/p2p-circuit')
    const sink = new MapStore()
    const dl = new Download({ chunks: cids, fetcher: exchangeFetcher(fetcher.services.exchange), sink })
    dl.addPeer(hidden.peerId)
    dl.noMorePeers()
    await dl.start()
    await dl.done
    expect(sink.blocks.size).toBe(chunks.length)
    for (let i = 0; i < chunks.length; i++) expect(Buffer.compare(sink.blocks.get(cids[i].toString())!, chunks[i])).toBe(0)
    expect(dl.progress().chunksByPeer[hidden.peerId.toString()]).toBe(chunks.length)
  })
})
