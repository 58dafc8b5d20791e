/**
 * A request queue as deep as the swarm allows, on one request stream: the answers that can be
 * outstanding at once (MAX_QUEUE_BYTES of chunks, with their framing) fit the requester's read
 * buffer, and all of them arrive byte-exact on real libp2p connections even when they are sent
 * at once and the requester's event loop is busy while they arrive.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import { chunkCid } from '@codio/content'
import { chunkExchange, MAX_READ_BUFFER_BYTES, type ChunkExchange } from '@codio/exchange'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { ADAPTIVE_MAX_DEPTH, MAX_QUEUE_BYTES } from '../src/constants.js'
import { MapStore } from './helpers.js'

type Node = P2PNode<{ exchange: ChunkExchange }>
const MiB = 1024 * 1024
/** a piece message's bytes besides the chunk: length prefixes, tags, id and a CIDv1 */
const FRAMING = 64

/** Answers no request until the test opens the gate, then all of them at once. */
class GatedStore extends MapStore {
  private open!: () => void
  readonly gate = new Promise<void>(resolve => { this.open = resolve })
  waiting = 0
  release (): void { this.open() }
  override async get (cid: CID): Promise<Uint8Array | undefined> {
    this.waiting++
    await this.gate
    return await super.get(cid)
  }
}

describe('a full request queue on one stream', () => {
  const nodes: Node[] = []
  let seederStore: GatedStore
  let seeder: Node
  let leecher: Node
  const chunks = Array.from({ length: Math.min(ADAPTIVE_MAX_DEPTH, MAX_QUEUE_BYTES / MiB) }, () => randomBytes(MiB))

  beforeAll(async () => {
    seederStore = new GatedStore()
    for (const c of chunks) seederStore.blocks.set(chunkCid(c).toString(), c)
    seeder = await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks: seederStore }) } }, nodes)
    leecher = await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks: new MapStore() }) } }, nodes)
    await leecher.dial(seeder.getMultiaddrs()[0])
  })

  afterAll(async () => {
    await Promise.all(nodes.map(async n => await n.stop()))
  })

  it('the read buffer holds every answer a queue of MAX_QUEUE_BYTES can have outstanding', () => {
    for (const chunk of [256 * 1024, MiB, 3 * MiB, 8 * MiB]) {
      const depth = Math.max(1, Math.floor(MAX_QUEUE_BYTES / chunk))
      expect(depth * (chunk + FRAMING)).toBeLessThanOrEqual(MAX_READ_BUFFER_BYTES)
    }
  })

  it(`${ADAPTIVE_MAX_DEPTH} answers of 1 MiB sent at once all arrive, byte-exact`, async () => {
    const fetches = chunks.map(async c => await leecher.services.exchange.fetch(seeder.peerId, chunkCid(c)))
    // the seeder answers in order: it waits on the first while the rest queue behind it
    while (seederStore.waiting < 1) await new Promise(resolve => setTimeout(resolve, 10))
    await new Promise(resolve => setTimeout(resolve, 200))
    seederStore.release()
    // the requester is busy while the answers are written: they pile up before it reads
    await new Promise(resolve => setImmediate(resolve))
    const until = performance.now() + 300
    while (performance.now() < until) { /* busy */ }
    const got = await Promise.all(fetches)
    got.forEach((bytes, i) => { expect(Buffer.from(bytes).equals(chunks[i])).toBe(true) })
  }, 60_000)
})
