/**
 * Purge on real peers (libp2p over loopback TCP, the Kademlia DHT, on-disk block stores): the
 * bytes leave the disk and the store statistics, a chunk another content shares stays, the
 * node no longer names itself a provider, a download in flight stops, and the content can be
 * fetched again afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { Code, ConnectError, createClient } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'
import { startAdminServer } from '@codio/admin'
import { chunkCid } from '@codio/content'
import { AdminService } from '@codio/proto'
import { peerAdminBackend } from '../src/admin-backend.js'
import type { CID } from 'multiformats/cid'
import type { CodioPeer } from '../src/peer.js'
import { addrOf, makeContent, Peers, publish, randomChunks, type TestContent } from './content.js'
import { until } from '@codio/testing'

/** The block file of `cid` in `peer`'s store (layout of @codio/store: blocks/<next-to-last two chars>/<CIDv1>). */
const blockFile = (peer: CodioPeer, cid: CID): string => {
  const key = cid.toV1().toString()
  return join(peer.store.dir, 'blocks', key.slice(-3, -1), key)
}
const onDisk = async (peer: CodioPeer, cid: CID): Promise<boolean> => await access(blockFile(peer, cid)).then(() => true, () => false)
const ids = (peers: Array<{ toString: () => string }>): string[] => peers.map(p => p.toString())

async function providersFrom (peer: CodioPeer, cid: CID): Promise<string[]> {
  const out: string[] = []
  for await (const p of peer.dht.findProviders(cid)) out.push(p.id.toString())
  return out
}

describe('CodioPeer.purge', () => {
  const peers = new Peers()
  let origin: CodioPeer
  let edge: CodioPeer
  let x: TestContent
  let y: TestContent

  beforeAll(async () => {
    const kp = await peers.kp
    const xs = randomChunks(6)
    // y shares x's first chunk: one block in the store, named by both manifests
    const ys = [xs[0], ...randomChunks(2)]
    x = await makeContent(kp, xs, { dataShards: 3, parityShards: 2 })
    y = await makeContent(kp, ys)
    origin = await peers.start('origin', { role: 'origin' })
    edge = await peers.start('edge', { bootstrap: [addrOf(origin)] })
    await until(() => edge.isReady() && origin.node.services.dht.routingTable.size > 0, 15_000, 'the DHT to connect the two')
    await publish(origin, x)
    await publish(origin, y)
  })

  afterAll(async () => { await peers.close() })

  it('frees the bytes on disk and in the statistics, keeps a chunk another content shares, and stops providing', async () => {
    await edge.prefetch(x.contentId)
    await edge.prefetch(y.contentId)
    expect(ids(await origin.dht.localProviders(x.contentId))).toContain(origin.peerId.toString())
    const before = await origin.store.stats()

    const r = await origin.purge(x.contentId)

    // every block of x but the shared chunk: 5 data chunks and 4 parity chunks, plus the manifest
    const gone = [...x.chunks.slice(1), ...x.parity].map(chunkCid)
    const bytes = [...x.chunks.slice(1), ...x.parity].reduce((n, c) => n + c.length, 0) + x.manifestBytes.length
    expect(r).toEqual({ held: true, chunksRemoved: 9, bytesFreed: bytes })
    expect(await origin.store.stats()).toEqual({ blocks: before.blocks - 10, bytes: before.bytes - bytes })
    for (const cid of [...gone, x.contentId]) expect(await onDisk(origin, cid)).toBe(false)
    expect(await onDisk(origin, chunkCid(x.chunks[0]))).toBe(true)
    expect(await origin.store.hasContent(x.contentId)).toBe(false)
    expect(ids(await origin.store.listContents())).toEqual([y.contentId.toString()])
    // y is whole still, and still served
    for (const c of y.chunks) expect(await origin.store.get(chunkCid(c))).toEqual(c)
    // no record of ours left here, and our own lookup does not name us
    expect(ids(await origin.dht.localProviders(x.contentId))).not.toContain(origin.peerId.toString())
    expect(await providersFrom(origin, x.contentId)).not.toContain(origin.peerId.toString())
    expect(origin.dht.providing().map(c => c.toString())).not.toContain(x.contentId.toString())
    // what it no longer holds it no longer serves
    await expect(edge.exchange.fetch(origin.peerId, chunkCid(x.chunks[1]))).rejects.toMatchObject({ name: 'BlockRefusedError' })

    expect(await origin.purge(x.contentId)).toEqual({ held: false, chunksRemoved: 0, bytesFreed: 0 })
  })

  it('at an edge: the content goes, and a later request fetches it again from a provider', async () => {
    // the edge fetched x before the origin purged it; y is still everywhere
    expect(await edge.store.hasContent(y.contentId)).toBe(true)
    const before = await edge.store.stats()
    const r = await edge.purge(y.contentId)
    // the chunk y shares with x stays: x is held here
    expect(r.held).toBe(true)
    expect(r.chunksRemoved).toBe(2)
    expect((await edge.store.stats()).bytes).toBe(before.bytes - r.bytesFreed)
    expect(await onDisk(edge, chunkCid(y.chunks[0]))).toBe(true)
    expect(ids(await edge.dht.localProviders(y.contentId))).not.toContain(edge.peerId.toString())

    // a purge is not a ban: the next request resolves and downloads it as any other
    const received = (): number => edge.exchange.peerStats().get(origin.peerId.toString())?.chunksReceived ?? 0
    const receivedBefore = received()
    await edge.prefetch(y.contentId)
    // its manifest and the two chunks purged; the shared chunk was still here
    expect(received() - receivedBefore).toBe(3)
    for (const c of y.chunks) expect(await edge.store.get(chunkCid(c))).toEqual(c)
    expect(await edge.store.hasContent(y.contentId)).toBe(true)
    await until(async () => ids(await edge.dht.localProviders(y.contentId)).includes(edge.peerId.toString()), 15_000, 'the edge to provide y again')
  })

  it('answers the admin Purge call over a real HTTP connection; a malformed content ID is InvalidArgument', async () => {
    const z = await makeContent(await peers.kp, randomChunks(2))
    await publish(origin, z)
    const admin = await startAdminServer({ backend: peerAdminBackend(origin, 'test') })
    try {
      const client = createClient(AdminService, createConnectTransport({ baseUrl: admin.url, httpVersion: '1.1' }))
      const bytes = z.chunks.reduce((n, c) => n + c.length, 0) + z.manifestBytes.length
      expect(await client.purge({ contentId: z.contentId.toString() })).toMatchObject({ held: true, chunksRemoved: 2, bytesFreed: BigInt(bytes) })
      expect(await client.purge({ contentId: z.contentId.toString() })).toMatchObject({ held: false, chunksRemoved: 0, bytesFreed: 0n })
      expect((await client.listContent({})).contentIds).not.toContain(z.contentId.toString())
      const code = await client.purge({ contentId: 'not-a-cid' }).then(() => undefined, (e: unknown) => ConnectError.from(e).code)
      expect(code).toBe(Code.InvalidArgument)
      // a chunk CID is not a content ID
      const chunk = await client.purge({ contentId: chunkCid(z.chunks[0]).toString() }).then(() => undefined, (e: unknown) => ConnectError.from(e).code)
      expect(chunk).toBe(Code.InvalidArgument)
    } finally {
      await admin.close()
    }
  })

  it('stops a download in progress and leaves none of its chunks behind', async () => {
    const kp = await peers.kp
    const big = await makeContent(kp, randomChunks(40))
    // a slow seed: 64 KiB/s, so the download is still running when the purge comes
    const seed = await peers.start('slow-seed', { role: 'origin', bootstrap: [addrOf(origin)], swarm: { maxUploadRate: 65_536 } })
    await publish(seed, big)
    const resolved = await edge.resolve(big.contentId)
    const dl = edge.download(resolved)
    const failed = dl.done.then(() => undefined, (err: Error) => err)
    await until(() => dl.progress().chunksDone >= 2, 15_000, 'a few chunks to arrive')

    const r = await edge.purge(big.contentId)

    expect(r.held).toBe(true)
    expect(await failed).toMatchObject({ name: 'DownloadAbortedError' })
    // give a request in flight time to land: it must not bring a chunk back
    await new Promise(resolve => setTimeout(resolve, 500))
    const left = await Promise.all(big.chunks.map(async c => await edge.store.has(chunkCid(c))))
    expect(left.filter(Boolean)).toHaveLength(0)
    expect(await edge.store.has(big.contentId)).toBe(false)
    expect(edge.swarm.sessionsOf(big.contentId)).toBe(0)
  })
})
