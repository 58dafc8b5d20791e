/**
 * Malformed block requests (issue 19 defect 3): a CID with a 300-byte digest or another codec
 * is refused as BAD_REQUEST at the protocol level, before the block store is asked, and is not
 * counted as the server's failure (its `serveFailures` feed the gossip the tracker ranks by).
 * The requester refuses to send such an ID at all, and counts nothing against the peer.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { lpStream } from '@libp2p/utils'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { chunkCid } from '@codio/content'
import { chunkExchange, CHUNK_PROTOCOL, InvalidBlockIdError, type ChunkExchange } from '@codio/exchange'
import { MessageSchema, RefusalCode } from '@codio/proto'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { MapStore } from './helpers.js'

type Node = P2PNode<{ exchange: ChunkExchange }>

/** A block source that counts every lookup and, as the on-disk store does, cannot name a long CID. */
class CountingStore extends MapStore {
  lookups = 0
  override async has (cid: CID): Promise<boolean> { this.lookups++; return await super.has(cid) }
  override async get (cid: CID): Promise<Uint8Array | undefined> {
    this.lookups++
    if (cid.toString().length > 200) throw Object.assign(new Error('ENAMETOOLONG: name too long'), { code: 'ENAMETOOLONG' })
    return await super.get(cid)
  }
}

describe('malformed block requests', () => {
  let seed: Node
  let leecher: Node
  const store = new CountingStore()
  const good = randomBytes(1024)
  const longDigest = CID.createV1(0x55, Digest.create(0x12, new Uint8Array(300).fill(9)))
  const wrongCodec = CID.createV1(0x70, Digest.create(0x12, new Uint8Array(32).fill(3)))
  const wrongHash = CID.createV1(0x55, Digest.create(0x13, new Uint8Array(64).fill(3)))

  beforeAll(async () => {
    store.blocks.set(chunkCid(good).toString(), good)
    seed = await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks: store }) } })
    leecher = await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks: new MapStore() }) } })
    await leecher.dial(seed.getMultiaddrs()[0])
  })

  afterAll(async () => {
    await Promise.all([seed, leecher].map(async n => await n.stop()))
  })

  it('refuses them as BAD_REQUEST without asking the store, and counts no failure of its own', async () => {
    // a hostile requester writes raw protocol messages (our own client would not send these)
    const stream = await leecher.dialProtocol(seed.peerId, CHUNK_PROTOCOL)
    const lp = lpStream(stream)
    const ids = [longDigest, wrongCodec, wrongHash]
    let id = 1n
    for (const cid of ids) {
      for (const wantHave of [false, true]) {
        await lp.write(toBinary(MessageSchema, create(MessageSchema, { payload: { case: 'request', value: { id: id++, cid: cid.bytes, wantHave } } })))
        const reply = fromBinary(MessageSchema, (await lp.read()).subarray())
        expect(reply.payload.case).toBe('refusal')
        if (reply.payload.case !== 'refusal') return
        expect(reply.payload.value.code).toBe(RefusalCode.BAD_REQUEST)
        expect(reply.payload.value.reason).toMatch(/invalid block id/)
      }
    }
    await stream.close()
    expect(store.lookups).toBe(0)
    expect(seed.services.exchange.serveFailures).toBe(0)
    // and the stream it keeps serving on still answers a good request
    expect(Buffer.compare(await leecher.services.exchange.fetch(seed.peerId, chunkCid(good)), good)).toBe(0)
  })

  it('never sends one, and counts nothing against the peer it would have asked', async () => {
    const before = leecher.services.exchange.peerStats().get(seed.peerId.toString())?.failures ?? 0
    for (const cid of [longDigest, wrongCodec, wrongHash]) {
      await expect(leecher.services.exchange.fetch(seed.peerId, cid)).rejects.toBeInstanceOf(InvalidBlockIdError)
      await expect(leecher.services.exchange.has(seed.peerId, cid)).rejects.toBeInstanceOf(InvalidBlockIdError)
    }
    expect(leecher.services.exchange.peerStats().get(seed.peerId.toString())?.failures ?? 0).toBe(before)
  })
})
