/**
 * Per-peer limits of the block exchange (issue 19, hostile peers), against a peer scripting
 * the raw protocol over real libp2p connections: streams open at once, requests queued, and
 * message size are each capped per peer, and each refusal is reported with its reason.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { lpStream } from '@libp2p/utils'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { chunkCid } from '@codio/content'
import { MessageSchema, RefusalCode } from '@codio/proto'
import { chunkExchange, peerLimits, CHUNK_PROTOCOL, type ChunkExchange, type RefusalReason } from '@codio/exchange'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { MapStore } from './helpers.js'

type Node = P2PNode<{ exchange: ChunkExchange }>

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('per-peer limits of the block exchange', () => {
  let server: Node
  let hostile: Node
  const refusals: RefusalReason[] = []
  const chunk = randomBytes(2048)
  const cid = chunkCid(chunk)
  const release: Array<() => void> = []

  beforeAll(async () => {
    const store = new MapStore()
    store.blocks.set(cid.toString(), chunk)
    const make = async (init: Parameters<typeof chunkExchange>[0]): Promise<Node> =>
      await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange(init) } })
    server = await make({
      blocks: store,
      limits: { maxStreams: 2, maxRequestsInFlight: 4, maxMessageBytes: 1024, maxBufferedBytes: 4096 },
      // every request waits until the test lets it go: requests pile up in the queue
      beforeServe: async (_peer, _bytes, signal) => {
        await new Promise<void>((resolve, reject) => {
          release.push(resolve)
          signal?.addEventListener('abort', () => { reject(signal.reason) })
        })
      },
      onRefused: (_peer, reason) => { refusals.push(reason) }
    })
    hostile = await make({ blocks: new MapStore() })
    await hostile.dial(server.getMultiaddrs()[0])
  })

  afterAll(async () => {
    for (const r of release) r()
    await Promise.all([server, hostile].map(async n => await n.stop()))
  })

  const request = (id: bigint): Uint8Array => toBinary(MessageSchema, create(MessageSchema, { payload: { case: 'request', value: { id, cid: cid.bytes } } }))

  it('checks its configuration', () => {
    expect(() => peerLimits({ maxStreams: 0 })).toThrow(RangeError)
    expect(() => peerLimits({ maxMessageBytes: 2 ** 40 })).toThrow(RangeError)
    expect(() => peerLimits({ maxMessageBytes: 4096, maxBufferedBytes: 1024 })).toThrow(RangeError)
    expect(peerLimits({}).maxStreams).toBe(8)
  })

  it('answers OVERLOADED past the requests one peer may queue, and counts it', async () => {
    const stream = await hostile.dialProtocol(server.peerId, CHUNK_PROTOCOL)
    const lp = lpStream(stream)
    for (let id = 1n; id <= 8n; id++) await lp.write(request(id))
    // one request is in service (waiting in beforeServe), four queued: the last three are refused
    const refused: bigint[] = []
    for (let k = 0; k < 3; k++) {
      const { payload } = fromBinary(MessageSchema, (await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray())
      expect(payload.case).toBe('refusal')
      if (payload.case === 'refusal') {
        expect(payload.value.code).toBe(RefusalCode.OVERLOADED)
        refused.push(payload.value.id)
      }
    }
    expect(refused).toEqual([6n, 7n, 8n])
    expect(refusals.filter(r => r === 'requests')).toHaveLength(3)
    // what was queued is still served
    while (release.length > 0) release.shift()!()
    const { payload } = fromBinary(MessageSchema, (await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray())
    expect(payload.case).toBe('piece')
    stream.abort(new Error('done'))
  }, 30_000)

  it('resets a block stream past the streams one peer may hold open, and counts it', async () => {
    const before = refusals.filter(r => r === 'streams').length
    const streams = []
    for (let k = 0; k < 3; k++) streams.push(await hostile.dialProtocol(server.peerId, CHUNK_PROTOCOL))
    const deadline = Date.now() + 10_000
    while (refusals.filter(r => r === 'streams').length === before && Date.now() < deadline) await sleep(50)
    expect(refusals.filter(r => r === 'streams').length).toBe(before + 1)
    while (streams.every(s => s.status === 'open' && s.readStatus === 'readable') && Date.now() < deadline) await sleep(50)
    expect(streams.slice(0, 2).every(s => s.status === 'open')).toBe(true)
    expect(streams[2].status !== 'open' || streams[2].readStatus !== 'readable').toBe(true)
    for (const s of streams) s.abort(new Error('done'))
    // slots come back when streams end: a new one is served
    await sleep(300)
    const again = await hostile.dialProtocol(server.peerId, CHUNK_PROTOCOL)
    const lp = lpStream(again)
    await lp.write(toBinary(MessageSchema, create(MessageSchema, { payload: { case: 'request', value: { id: 9n, cid: cid.bytes, wantHave: true } } })))
    const { payload } = fromBinary(MessageSchema, (await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray())
    expect(payload.case).toBe('presence')
    again.abort(new Error('done'))
  }, 30_000)

  it('resets a block stream carrying a message over the size limit, and counts it', async () => {
    const stream = await hostile.dialProtocol(server.peerId, CHUNK_PROTOCOL)
    // a length prefix of 2000 bytes, over the 1024 allowed: refused before the body arrives
    stream.send(new Uint8Array([0xd0, 0x0f, 1, 2, 3]))
    const deadline = Date.now() + 10_000
    while (!refusals.includes('message_size') && Date.now() < deadline) await sleep(50)
    expect(refusals).toContain('message_size')
    while (stream.status === 'open' && stream.readStatus === 'readable' && Date.now() < deadline) await sleep(50)
    expect(stream.status !== 'open' || stream.readStatus !== 'readable').toBe(true)
    stream.abort(new Error('done'))
  }, 30_000)
})
