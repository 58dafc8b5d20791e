/**
 * Hostile peers (issue 19), scripted over the real protocols between in-process libp2p nodes:
 * a peer that trickles a chunk's bytes, a peer that answers with another chunk's bytes, and a
 * peer that floods swarm `have` messages. Each is routed around or cut off, and counted; the
 * download stays byte-exact.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash, randomBytes } from 'node:crypto'
import { lpStream } from '@libp2p/utils'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import type { PeerId, Stream } from '@libp2p/interface'
import { MessageSchema } from '@codio/proto'
import { chunkExchange, swarmSessions, CHUNK_PROTOCOL, SWARM_PROTOCOL, type ChunkExchange, type RefusalReason, type SwarmSession, type SwarmSessions } from '@codio/exchange'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { Download } from '../src/index.js'
import { MapStore } from './helpers.js'
import { exchangeFetcher } from '../src/exchange-fetcher.js'

type Node = P2PNode<{ exchange: ChunkExchange }>

const cidOf = (bytes: Uint8Array): CID => CID.createV1(0x55, Digest.create(0x12, createHash('sha256').update(bytes).digest()))
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** A message framed as on the wire: unsigned varint length, then the bytes. */
function frame (msg: Uint8Array): Uint8Array {
  const head: number[] = []
  let n = msg.byteLength
  while (n >= 0x80) { head.push((n & 0x7f) | 0x80); n >>>= 7 }
  head.push(n)
  const out = new Uint8Array(head.length + msg.byteLength)
  out.set(head)
  out.set(msg, head.length)
  return out
}

const piece = (id: bigint, cid: CID, data: Uint8Array): Uint8Array =>
  frame(toBinary(MessageSchema, create(MessageSchema, { payload: { case: 'piece', value: { id, cid: cid.bytes, data } } })))

async function makeNode (init: Parameters<typeof chunkExchange>[0]): Promise<Node> {
  return await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange(init) } })
}

/** What a scripted block server saw: requests by id, and which of them were cancelled. */
interface Script {
  requests: Map<bigint, CID>
  cancelled: Set<bigint>
  streamsEnded: number
}

/**
 * Replace `node`'s block handler by a hostile script: every request is answered by
 * `answer(id, cid, stream)` (in arrival order, one at a time, as the protocol has it).
 */
async function scriptBlocks (node: Node, answer: (id: bigint, cid: CID, stream: Stream, script: Script) => Promise<void>): Promise<Script> {
  const script: Script = { requests: new Map(), cancelled: new Set(), streamsEnded: 0 }
  await node.unhandle(CHUNK_PROTOCOL)
  await node.handle(CHUNK_PROTOCOL, (stream) => {
    const lp = lpStream(stream)
    const queue: Array<{ id: bigint, cid: CID }> = []
    let wake: (() => void) | undefined
    let ended = false
    void (async () => {
      try {
        while (true) {
          const { payload } = fromBinary(MessageSchema, (await lp.read()).subarray())
          if (payload.case === 'cancel') script.cancelled.add(payload.value.id)
          if (payload.case !== 'request') continue
          const cid = CID.decode(payload.value.cid)
          script.requests.set(payload.value.id, cid)
          queue.push({ id: payload.value.id, cid })
          wake?.()
        }
      } catch {
        ended = true
        script.streamsEnded++
        wake?.()
      }
    })()
    void (async () => {
      try {
        while (!ended) {
          const req = queue.shift()
          if (req == null) { await new Promise<void>(resolve => { wake = resolve }); continue }
          if (script.cancelled.has(req.id)) continue
          await answer(req.id, req.cid, stream, script)
        }
      } catch {}
    })()
  })
  return script
}

describe('hostile block servers', () => {
  const chunks = Array.from({ length: 40 }, () => randomBytes(16 * 1024))
  const cids = chunks.map(cidOf)
  const full = (): MapStore => {
    const s = new MapStore()
    chunks.forEach((c, j) => { s.blocks.set(cids[j].toString(), c) })
    return s
  }
  let honest: Node
  let hostile: Node
  let leecher: Node

  beforeAll(async () => {
    // the honest peer serves a chunk every 25 ms: the whole content takes about a second
    honest = await makeNode({ blocks: full(), beforeServe: async (_peer, _bytes, signal) => { await sleep(25); signal?.throwIfAborted() } })
    hostile = await makeNode({ blocks: full() })
    leecher = await makeNode({ blocks: new MapStore(), requestTimeout: 60_000 })
    await leecher.dial(honest.getMultiaddrs()[0])
    await leecher.dial(hostile.getMultiaddrs()[0])
  })

  afterAll(async () => {
    await Promise.all([honest, hostile, leecher].map(async n => await n.stop()))
  })

  it('routes around a peer that trickles a chunk at 1 KiB/s, and cancels what it asked of it', async () => {
    let bytesTrickled = 0
    const script = await scriptBlocks(hostile, async (id, cid, stream, script) => {
      const bytes = piece(id, cid, chunks[cids.findIndex(c => c.equals(cid))])
      // 100 bytes every 100 ms, until the requester cancels (the whole chunk would take 16 s)
      for (let at = 0; at < bytes.byteLength && !script.cancelled.has(id) && stream.status === 'open'; at += 100) {
        stream.send(bytes.subarray(at, at + 100))
        bytesTrickled += Math.min(100, bytes.byteLength - at)
        await sleep(100)
      }
    })
    const sink = new MapStore()
    const dl = new Download({ chunks: cids, fetcher: exchangeFetcher(leecher.services.exchange), sink, perPeerInFlight: 4 })
    dl.addPeer(hostile.peerId)
    dl.addPeer(honest.peerId)
    dl.noMorePeers()
    const t0 = performance.now()
    await dl.start()
    await dl.done
    const ms = performance.now() - t0
    // the requests left with the trickler are cancelled once their chunks arrive elsewhere
    const deadline = Date.now() + 10_000
    while ([...script.requests.keys()].some(id => !script.cancelled.has(id)) && script.streamsEnded === 0 && Date.now() < deadline) await sleep(50)
    console.log(`trickler: ${script.requests.size} requests, ${script.cancelled.size} cancelled, ${bytesTrickled} bytes trickled; download ${ms.toFixed(0)} ms`)
    for (let i = 0; i < chunks.length; i++) expect(Buffer.compare(sink.blocks.get(cids[i].toString())!, chunks[i])).toBe(0)
    expect(dl.progress().chunksByPeer[hostile.peerId.toString()]).toBe(0)
    expect(script.requests.size).toBeGreaterThan(0)
    expect(script.streamsEnded > 0 || [...script.requests.keys()].every(id => script.cancelled.has(id))).toBe(true)
    // one trickled chunk alone would take 16 s
    expect(ms).toBeLessThan(12_000)
  }, 60_000)

  it('never stores the bytes of another chunk a peer answers with, stops asking it, and completes byte-exact', async () => {
    const verificationFailures: string[] = []
    const liarLeecher = await makeNode({ blocks: new MapStore(), requestTimeout: 60_000, onVerificationFailure: (peer) => { verificationFailures.push(peer.toString()) } })
    try {
      await liarLeecher.dial(honest.getMultiaddrs()[0])
      await liarLeecher.dial(hostile.getMultiaddrs()[0])
      const script = await scriptBlocks(hostile, async (id, cid, stream) => {
        // a real chunk of the same content, the next one: well formed, and wrong
        const i = cids.findIndex(c => c.equals(cid))
        if (!stream.send(piece(id, cid, chunks[(i + 1) % chunks.length]))) await stream.onDrain()
      })
      const sink = new MapStore()
      const puts: string[] = []
      const spy = { has: sink.has.bind(sink), get: sink.get.bind(sink), put: async (cid: CID, bytes: Uint8Array) => { puts.push(cid.toString()); if (Buffer.compare(bytes, chunks[cids.findIndex(c => c.equals(cid))]) !== 0) throw new Error(`wrong bytes stored for ${cid}`); await sink.put(cid, bytes) } }
      const dl = new Download({ chunks: cids, fetcher: exchangeFetcher(liarLeecher.services.exchange), sink: spy, perPeerInFlight: 4 })
      dl.addPeer(hostile.peerId)
      dl.addPeer(honest.peerId)
      dl.noMorePeers()
      await dl.start()
      await dl.done
      console.log(`liar: ${script.requests.size} requests, ${verificationFailures.length} verification failures`)
      for (let i = 0; i < chunks.length; i++) expect(Buffer.compare(sink.blocks.get(cids[i].toString())!, chunks[i])).toBe(0)
      expect(puts.length).toBe(chunks.length)
      expect(dl.progress().chunksByPeer[hostile.peerId.toString()]).toBe(0)
      expect(verificationFailures.length).toBeGreaterThan(0)
      expect(verificationFailures.every(p => p === hostile.peerId.toString())).toBe(true)
      // banned from the download after its bad chunks: the rest go elsewhere
      expect(script.requests.size).toBeLessThanOrEqual(8)
      // and what the leecher now serves is the true content
      const checker = await makeNode({ blocks: new MapStore() })
      try {
        const again = await makeNode({ blocks: sink })
        try {
          await checker.dial(again.getMultiaddrs()[0])
          for (let i = 0; i < chunks.length; i++) expect(Buffer.compare(await checker.services.exchange.fetch(again.peerId, cids[i]), chunks[i])).toBe(0)
        } finally { await again.stop() }
      } finally { await checker.stop() }
    } finally {
      await liarLeecher.stop()
    }
  }, 60_000)
})

describe('a peer flooding have messages', () => {
  const CHUNKS = 64
  let target: P2PNode<{ sessions: SwarmSessions }>
  let flooder: P2PNode<{ sessions: SwarmSessions }>
  const refusals: Array<{ peer: string, reason: RefusalReason }> = []
  const sessions: SwarmSession[] = []
  let havesDelivered = 0
  // a content ID names a manifest (dag-cbor); the handshake refuses any other
  const contentId = CID.createV1(0x71, cidOf(randomBytes(32)).multihash)

  beforeAll(async () => {
    const make = async (sessionsInit: Parameters<typeof swarmSessions>[0]): Promise<P2PNode<{ sessions: SwarmSessions }>> =>
      await startTestNode<{ sessions: SwarmSessions }>({ services: { sessions: swarmSessions(sessionsInit) } })
    target = await make({
      host: {
        bitfield: async () => new Uint8Array(CHUNKS / 8).fill(0xff),
        onInboundSession: (s) => {
          sessions.push(s)
          s.listen({ onHave: (indexes) => { havesDelivered += indexes.length } })
        }
      },
      // a budget well under what the flooder sends even on a loaded machine (it sends thousands a second)
      limits: { haveRatePerSecond: 200, haveBurst: 2000 },
      onRefused: (peer: PeerId, reason: RefusalReason) => { refusals.push({ peer: peer.toString(), reason }) }
    })
    flooder = await make({})
    await flooder.dial(target.getMultiaddrs()[0])
  })

  afterAll(async () => {
    await Promise.all([target, flooder].map(async n => await n.stop()))
  })

  /** Open a session by hand and write `have`s of `index(i)` as fast as the stream takes them, for `ms`. */
  async function flood (index: (i: number) => number, ms: number): Promise<{ sent: number, cut: boolean }> {
    const stream = await flooder.dialProtocol(target.peerId, SWARM_PROTOCOL)
    const lp = lpStream(stream)
    await lp.write(toBinary(MessageSchema, create(MessageSchema, { payload: { case: 'bitfield', value: { contentId: contentId.bytes, bits: new Uint8Array(CHUNKS / 8) } } })))
    const reply = fromBinary(MessageSchema, (await lp.read()).subarray())
    expect(reply.payload.case).toBe('bitfield')
    let sent = 0
    const t0 = Date.now()
    while (Date.now() - t0 < ms && stream.status === 'open' && stream.writeStatus === 'writable') {
      // batches of 100 messages, then let the event loop breathe
      for (let k = 0; k < 100; k++) {
        if (!stream.send(frame(toBinary(MessageSchema, create(MessageSchema, { payload: { case: 'have', value: { contentId: contentId.bytes, indexes: [index(sent)] } } }))))) await stream.onDrain().catch(() => {})
        sent++
      }
      await sleep(1)
    }
    const cut = stream.status !== 'open' || stream.writeStatus !== 'writable' || stream.remoteWriteStatus !== 'writable'
    stream.abort(new Error('done'))
    return { sent, cut }
  }

  it('cuts a session that floods haves of chunks it may hold, counts it, and stays bounded', async () => {
    const rss0 = process.memoryUsage().rss
    const t0 = performance.now()
    const { sent, cut } = await flood(i => i % CHUNKS, 20_000)
    const seconds = (performance.now() - t0) / 1000
    const deadline = Date.now() + 5_000
    while (!refusals.some(r => r.reason === 'have_rate') && Date.now() < deadline) await sleep(50)
    const grewMiB = (process.memoryUsage().rss - rss0) / 2 ** 20
    console.log(`flood: ${sent} haves sent in ${seconds.toFixed(1)} s, ${havesDelivered} delivered, cut ${String(cut)}, RSS +${grewMiB.toFixed(0)} MiB`)
    expect(refusals).toContainEqual({ peer: flooder.peerId.toString(), reason: 'have_rate' })
    expect(sessions.at(-1)?.isClosed).toBe(true)
    expect(cut).toBe(true)
    // the budget: a burst of 2000 and 200 a second
    expect(havesDelivered).toBeLessThanOrEqual(2000 + 200 * seconds)
    expect(grewMiB).toBeLessThan(200)
  }, 60_000)

  it('cuts a session announcing a chunk beyond the content, and counts it', async () => {
    const before = refusals.length
    const { cut } = await flood(i => CHUNKS + i, 2_000)
    const deadline = Date.now() + 5_000
    while (refusals.length === before && Date.now() < deadline) await sleep(50)
    expect(refusals.slice(before)).toContainEqual({ peer: flooder.peerId.toString(), reason: 'have_range' })
    expect(cut).toBe(true)
  }, 30_000)
})
