/**
 * ProviderSearch over real libp2p nodes, chunk exchanges and the Kademlia DHT: a connected peer
 * that holds the content is found by want-have without a DHT walk, also when the tracker names
 * other providers; when no connected peer holds it, the DHT finds the provider.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { chunkCid } from '@codio/content'
import { DhtManager } from '@codio/dht'
import { chunkExchange, type ChunkExchange } from '@codio/exchange'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { ProviderSearch, type ConnectedPeers } from '../src/provider-search.js'
import { until } from '@codio/testing'
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'

// a real SDK tracer provider, exporting to memory what the OTLP exporter would send
const spans = new InMemorySpanExporter()
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] }))

type Node = P2PNode<{ exchange: ChunkExchange }>

class Blocks {
  readonly map = new Map<string, Uint8Array>()
  async get (cid: CID): Promise<Uint8Array | undefined> { return this.map.get(cid.toString()) }
}

function connectedPeers (node: Node, asked: string[]): ConnectedPeers {
  return {
    peers: () => node.getPeers(),
    has: async (peer: PeerId, cid: CID, signal: AbortSignal) => {
      asked.push(peer.toString())
      return await node.services.exchange.has(peer, cid, { signal })
    }
  }
}

async function collect (search: ProviderSearch): Promise<string[]> {
  const out: string[] = []
  for await (const p of search.providers()) out.push(p.toString())
  return out
}

describe('ProviderSearch: connected peers first, then the DHT', () => {
  const nodes: Node[] = []
  const block = randomBytes(2048)
  const cid = chunkCid(block)
  let holder: Node
  let middle: Node
  let seeker: Node

  beforeAll(async () => {
    const make = async (blocks: Blocks): Promise<Node> => await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks }) } }, nodes)
    const held = new Blocks()
    held.map.set(cid.toString(), block)
    holder = await make(held)
    middle = await make(new Blocks())
    seeker = await make(new Blocks())
    // holder — middle — seeker: the seeker is not connected to the holder
    await middle.dial(holder.getMultiaddrs()[0])
    await seeker.dial(middle.getMultiaddrs()[0])
    await until(() => holder.services.dht.routingTable.size > 0 && middle.services.dht.routingTable.size > 1 && seeker.services.dht.routingTable.size > 0, 15_000, 'routing tables')
    await new DhtManager(holder).provide(cid)
  })

  afterAll(async () => {
    await Promise.all(nodes.map(async n => await n.stop()))
  })

  it('walks the DHT when no connected peer holds the content', async () => {
    // the DHT's own upkeep may have connected the two meanwhile
    await seeker.hangUp(holder.peerId)
    const asked: string[] = []
    spans.reset()
    const search = new ProviderSearch(seeker, new DhtManager(seeker), cid, 10_000, undefined, { connected: connectedPeers(seeker, asked) })
    const found = await collect(search)
    expect(asked).toEqual([middle.peerId.toString()])
    expect(found).toEqual([holder.peerId.toString()])
    expect(search.source).toBe('dht')
    // traced: the search span with the want-have and the walk as its children, with their counts
    const byName = new Map(spans.getFinishedSpans().map(s => [s.name, s]))
    const root = byName.get('providers.search')!
    expect(root.attributes).toMatchObject({ 'codio.content.id': cid.toString(), 'codio.providers.found': 1, 'codio.providers.source': 'dht' })
    expect(byName.get('providers.want_have')?.attributes).toMatchObject({ 'codio.peers.asked': 1, 'codio.providers.found': 0 })
    expect(byName.get('providers.dht_walk')?.attributes).toMatchObject({ 'codio.providers.found': 1 })
    for (const child of ['providers.want_have', 'providers.dht_walk']) expect(byName.get(child)!.parentSpanContext?.spanId).toBe(root.spanContext().spanId)
  })

  it('never names an excluded (banned) peer, whatever source finds it', async () => {
    const asked: string[] = []
    const banned = (p: PeerId): boolean => p.equals(holder.peerId)
    const tracker = { select: async () => [{ id: holder.peerId, multiaddrs: holder.getMultiaddrs() }] }
    const search = new ProviderSearch(seeker, new DhtManager(seeker), cid, 1500, undefined, { tracker, connected: connectedPeers(seeker, asked), excluded: banned })
    expect(await collect(search)).toEqual([])
    expect(asked).not.toContain(holder.peerId.toString())
    // the same search without the exclusion finds it
    const open = new ProviderSearch(seeker, new DhtManager(seeker), cid, 1500, undefined, { tracker })
    expect(await collect(open)).toEqual([holder.peerId.toString()])
  })

  it('takes a connected peer that holds the content, without a DHT walk', async () => {
    await seeker.dial(holder.getMultiaddrs()[0])
    const asked: string[] = []
    let walks = 0
    const dht = new DhtManager(seeker)
    const counted = { findProviders: (c: CID, o?: any) => { walks++; return dht.findProviders(c, o) } }
    const search = new ProviderSearch(seeker, counted, cid, 10_000, undefined, { connected: connectedPeers(seeker, asked) })
    const found = await collect(search)
    expect(found).toEqual([holder.peerId.toString()])
    expect(search.source).toBe('connected')
    expect(asked.sort()).toEqual([holder.peerId.toString(), middle.peerId.toString()].sort())
    expect(walks).toBe(0)
  })

  it('asks the connected peers even when the tracker names a provider (its view lags the holders\' gossip)', async () => {
    if (seeker.getConnections(holder.peerId).length === 0) await seeker.dial(holder.getMultiaddrs()[0])
    const asked: string[] = []
    // a tracker that has not heard of the holder yet, and names another peer
    const tracker = { select: async () => [{ id: middle.peerId, multiaddrs: middle.getMultiaddrs() }] }
    const search = new ProviderSearch(seeker, new DhtManager(seeker), cid, 10_000, undefined, { tracker, connected: connectedPeers(seeker, asked) })
    const found = await collect(search)
    expect(found.sort()).toEqual([holder.peerId.toString(), middle.peerId.toString()].sort())
    expect(asked).toContain(holder.peerId.toString())
    expect(search.source).toBe('tracker')
    search.abort()
  })

  it('ends at its time limit even when a DHT walk does not heed the abort (a dial stuck past it)', async () => {
    const dht = new DhtManager(seeker)
    let release: () => void = () => {}
    const stuck = new Promise<void>(resolve => { release = resolve })
    // the real walk for a content nobody holds, then a wait that ignores the signal, as a
    // query stuck in a dial that outlives the caller's abort
    const deaf = {
      findProviders: (c: CID, o?: any) => (async function * () {
        yield * dht.findProviders(c, o)
        await stuck
      })()
    }
    const t0 = Date.now()
    try {
      const search = new ProviderSearch(seeker, deaf, chunkCid(randomBytes(64)), 800)
      expect(await collect(search)).toEqual([])
      expect(search.done).toBe(true)
      expect(Date.now() - t0).toBeLessThan(1500)
    } finally {
      release()
    }
  })

  it('goes on past a source whose providers all fail once asked for more, and follows across', async () => {
    const tracker = { select: async () => [{ id: middle.peerId, multiaddrs: middle.getMultiaddrs() }] }
    const search = new ProviderSearch(seeker, new DhtManager(seeker), cid, 10_000, undefined, { tracker })
    // a download's view: what the tracker named, then idle
    expect(await collect(search)).toEqual([middle.peerId.toString()])
    expect(search.done).toBe(false)
    // the manifest fetch's view: the middle peer does not hold it, so it asks for more
    const followed: string[] = []
    for await (const p of search.providers({ follow: true })) {
      followed.push(p.toString())
      if (followed.length === 1) search.more()
      if (followed.length === 2) break
    }
    expect(followed).toEqual([middle.peerId.toString(), holder.peerId.toString()])
    search.abort()
  })
})
