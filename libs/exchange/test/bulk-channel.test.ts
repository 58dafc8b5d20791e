import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { duplexPair } from 'node:stream'
import { connect } from 'node:tls'
import { once } from 'node:events'
import type { Socket } from 'node:net'
import { create, toBinary } from '@bufbuild/protobuf'
import { lpStream } from '@libp2p/utils'
import type { CID } from 'multiformats/cid'
import { chunkCid } from '@codio/content'
import { MessageSchema } from '@codio/proto'
import type { P2PNode } from '@codio/p2p'
import { startTestNode, stopTestNodes } from '@codio/p2p/testing'
import { BULK_PROTOCOL, CHUNK_PROTOCOL, chunkExchange, type ChunkExchange, type ChunkExchangeInit } from '../src/index.js'
import { socketConn } from '../src/socket-conn.js'
import { encodePiece } from '../src/wire.js'

type Node = P2PNode<{ exchange: ChunkExchange }>
const MiB = 1024 * 1024

class MapStore {
  readonly blocks = new Map<string, Uint8Array>()
  async get (cid: CID): Promise<Uint8Array | undefined> { return this.blocks.get(cid.toString()) }
}

async function node (nodes: Node[], init: Partial<ChunkExchangeInit> = {}, store = new MapStore()): Promise<Node> {
  return await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks: store, requestTimeout: 10_000, ...init }) } }, nodes)
}

/** A node with a bulk channel that records why it fell back to libp2p streams, connected to `to`. */
async function leecherOf (nodes: Node[], to: Node): Promise<{ leecher: Node, fallbacks: string[] }> {
  const fallbacks: string[] = []
  const leecher = await node(nodes, { bulk: { onFallback: (_peer, reason) => { fallbacks.push(reason) } } })
  await leecher.dial(to.getMultiaddrs()[0])
  return { leecher, fallbacks }
}

/** Chunk streams open on the libp2p connections between `a` and `b`. */
function chunkStreams (a: Node, b: Node): number {
  return a.getConnections(b.peerId).flatMap(c => c.streams).filter(s => s.protocol === CHUNK_PROTOCOL).length
}

describe('bulk channel: block exchange on a direct TLS connection bound to the peer IDs', () => {
  const nodes: Node[] = []
  const chunks = Array.from({ length: 6 }, () => randomBytes(MiB))
  const cids = chunks.map(c => chunkCid(c))
  const store = new MapStore()
  chunks.forEach((c, i) => store.blocks.set(cids[i].toString(), c))
  let seed: Node

  beforeAll(async () => {
    seed = await node(nodes, { bulk: { host: '127.0.0.1', port: 0 } }, store)
  })
  afterAll(async () => { await stopTestNodes(nodes) })

  it('fetches verified blocks over the bulk channel, not over libp2p streams', async () => {
    const leecher = await node(nodes, { bulk: {} })
    await leecher.dial(seed.getMultiaddrs()[0])
    const got = await Promise.all(cids.map(async cid => await leecher.services.exchange.fetch(seed.peerId, cid)))
    got.forEach((bytes, i) => expect(Buffer.compare(bytes, chunks[i])).toBe(0))
    expect(chunkStreams(leecher, seed)).toBe(0)
    expect(seed.services.exchange.peerStats().get(leecher.peerId.toString())?.chunksSent).toBe(6)
    expect(leecher.services.exchange.peerStats().get(seed.peerId.toString())?.chunksReceived).toBe(6)
    expect(seed.services.exchange.bulkPort).toBeGreaterThan(0)
  })

  it('falls back to libp2p streams when the peer has no bulk channel', async () => {
    const plain = await node(nodes, {}, store)
    const { leecher, fallbacks } = await leecherOf(nodes, plain)
    const bytes = await leecher.services.exchange.fetch(plain.peerId, cids[0])
    expect(Buffer.compare(bytes, chunks[0])).toBe(0)
    expect(chunkStreams(leecher, plain)).toBe(1)
    expect(fallbacks).toEqual(['unsupported'])
  })

  it('refuses a bulk channel whose certificate names another peer, and uses libp2p streams', async () => {
    // the peer points its bulk endpoint at another node's listener: a man in the middle's port
    const liar = await node(nodes, { bulk: {} }, store)
    const other = await node(nodes, { bulk: {} })
    const otherPort = other.services.exchange.bulkPort!
    await liar.unhandle(BULK_PROTOCOL)
    await liar.handle(BULK_PROTOCOL, (stream) => {
      void lpStream(stream).write(Uint8Array.of(otherPort >> 8, otherPort & 0xff)).then(async () => { await stream.close() })
    })
    const { leecher, fallbacks } = await leecherOf(nodes, liar)
    const bytes = await leecher.services.exchange.fetch(liar.peerId, cids[1])
    expect(Buffer.compare(bytes, chunks[1])).toBe(0)
    expect(chunkStreams(leecher, liar)).toBe(1)
    expect(other.services.exchange.peerStats().size).toBe(0)
    expect(fallbacks).toEqual(['certificate'])
  })

  it('closes an inbound connection that proves no peer ID, and keeps serving', async () => {
    const socket = connect({ host: '127.0.0.1', port: seed.services.exchange.bulkPort!, rejectUnauthorized: false, ALPNProtocols: ['codio-chunk/1'] })
    socket.on('error', () => {})
    await once(socket, 'close')
    const leecher = await node(nodes, { bulk: {} })
    await leecher.dial(seed.getMultiaddrs()[0])
    expect(Buffer.compare(await leecher.services.exchange.fetch(seed.peerId, cids[2]), chunks[2])).toBe(0)
  })
})

describe('socketConn: varint-length-prefixed messages on a socket', () => {
  it('reads messages back whole however the bytes are split', async () => {
    const [a, b] = duplexPair()
    const writer = socketConn(a as unknown as Socket, { maxDataLength: 4 * MiB, maxBufferSize: 8 * MiB })
    const reader = socketConn(b as unknown as Socket, { maxDataLength: 4 * MiB, maxBufferSize: 8 * MiB })
    const datas = [1, 100, 127, 128, 300, 70_000, MiB, 3 * MiB].map(n => randomBytes(n))
    // one frame at a time, cut into pieces of 1 to 20 000 bytes
    const frames = datas.map((d, i) => Buffer.concat([...encodePiece(BigInt(i + 1), new Uint8Array(36), d)]))
    const all = Buffer.concat(frames)
    void (async () => {
      for (let at = 0; at < all.byteLength;) {
        const n = 1 + Math.floor(Math.random() * 20_000)
        a.write(all.subarray(at, at + n))
        at += n
      }
      await writer.write(toBinary(MessageSchema, create(MessageSchema, { payload: { case: 'cancel', value: { id: 9n } } })))
      await writer.close()
    })()
    for (const [i, d] of datas.entries()) {
      const msg = await reader.read()
      expect(msg.payload.case).toBe('piece')
      if (msg.payload.case !== 'piece') return
      expect(msg.payload.value.id).toBe(BigInt(i + 1))
      expect(Buffer.compare(msg.payload.value.data, d)).toBe(0)
    }
    expect((await reader.read()).payload).toEqual({ case: 'cancel', value: expect.objectContaining({ id: 9n }) })
    await expect(reader.read()).rejects.toThrow('stream ended')
  })

  it('fails a frame longer than the limit before reading it', async () => {
    const [a, b] = duplexPair()
    const reader = socketConn(b as unknown as Socket, { maxDataLength: 1000, maxBufferSize: 2000 })
    a.write(Buffer.from([0xe9, 0x07])) // 1001
    await expect(reader.read()).rejects.toMatchObject({ name: 'InvalidDataLengthError' })
  })
})
