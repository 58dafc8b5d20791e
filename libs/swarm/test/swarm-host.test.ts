/**
 * SwarmHost over real libp2p connections and real block stores: peer exchange (BEP 11),
 * one session per peer pair when both open at once, and interest that follows what the
 * remote holds (BEP 3).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { chunkCid } from '@codio/content'
import { chunkExchange, swarmSessions, SWARM_PROTOCOL, type ChunkExchange, type SwarmSessions } from '@codio/exchange'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { BlockStore } from '@codio/store'
import { createLogger } from '@codio/telemetry'
import { DEFAULT_SWARM_POLICY, Download, listenAddresses, SwarmHost } from '../src/index.js'
import { exchangeFetcher } from '../src/exchange-fetcher.js'
import { until } from '@codio/testing'

type Node = P2PNode<{ exchange: ChunkExchange, sessions: SwarmSessions }>

const CHUNKS = 8
const chunks = Array.from({ length: CHUNKS }, () => randomBytes(1024))
const cids = chunks.map(chunkCid)
const log = createLogger({ name: 'swarm-host-test', level: 'silent' })

interface Member {
  node: Node
  store: BlockStore
  host: SwarmHost
  learned: Array<{ id: PeerId, multiaddrs: Multiaddr[] }>
}


describe('SwarmHost over real libp2p connections', () => {
  let dir: string
  let contentId: CID
  const members: Member[] = []

  /** A node taking part in the content's swarm, holding the chunks `held`. */
  async function member (held: number[], onLearned?: (m: Member, peers: Array<{ id: PeerId, multiaddrs: Multiaddr[] }>) => void): Promise<Member> {
    const store = await BlockStore.open(join(dir, `m${members.length}`))
    for (const i of held) await store.put(cids[i], chunks[i])
    const node = await startTestNode<{ exchange: ChunkExchange, sessions: SwarmSessions }>({ services: { exchange: chunkExchange({ blocks: store }), sessions: swarmSessions() } })
    const m: Member = { node, store, host: undefined as unknown as SwarmHost, learned: [] }
    m.host = new SwarmHost(store, node.services.sessions, { ...DEFAULT_SWARM_POLICY, choking: false }, log, {
      peerId: node.peerId,
      pex: {
        addresses: async id => await listenAddresses(node, id),
        learned: (_cid, peers) => {
          m.learned.push(...peers)
          onLearned?.(m, peers)
        }
      }
    })
    m.host.start()
    const dl = new Download({ chunks: cids, fetcher: exchangeFetcher(node.services.exchange), sink: store, chunkSize: 1024, size: CHUNKS * 1024 })
    await m.host.attach(contentId, cids, dl)
    members.push(m)
    return m
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codio-swarm-host-'))
    contentId = CID.createV1(0x71, await sha256.digest(new TextEncoder().encode('swarm host test')))
  })

  afterAll(async () => {
    for (const m of members) m.host.stop()
    await Promise.all(members.map(async m => await m.node.stop()))
    await rm(dir, { recursive: true, force: true })
  })

  it('names each session peer the others (peer exchange), with addresses it can dial', async () => {
    const hub = await member([0, 1, 2, 3, 4, 5, 6, 7])
    // a peer that hears of another opens a session with it, as CodioPeer does
    const join = (m: Member, peers: Array<{ id: PeerId, multiaddrs: Multiaddr[] }>): void => {
      for (const p of peers) {
        void m.node.peerStore.merge(p.id, { multiaddrs: p.multiaddrs }).then(async () => await m.host.connect(p.id, contentId))
      }
    }
    const b = await member([], join)
    const c = await member([], join)
    for (const m of [b, c]) {
      await m.node.dial(hub.node.getMultiaddrs()[0])
      await m.host.connect(hub.node.peerId, contentId)
    }
    // the hub names the first leecher to the second as soon as it knows where it listens
    await until(() => c.learned.some(p => p.id.equals(b.node.peerId)), 15_000, 'the second leecher to hear of the first')
    const named = c.learned.find(p => p.id.equals(b.node.peerId))!
    expect(named.multiaddrs.map(a => a.toString())).toEqual(expect.arrayContaining(b.node.getMultiaddrs().map(a => a.decapsulateCode(421).toString())))
    expect(c.learned.some(p => p.id.equals(c.node.peerId))).toBe(false)
    // and the second leecher opens a session with the first: all three trade with each other
    await until(() => b.host.sessionsOf(contentId) === 2 && c.host.sessionsOf(contentId) === 2, 15_000, 'a session between the leechers')
    expect(hub.host.sessionsOf(contentId)).toBe(2)
    expect(b.node.getConnections(c.node.peerId).length).toBeGreaterThan(0)
  })

  it('keeps one session per peer pair when both open one at the same moment: the one the smaller peer ID opened', async () => {
    /** Directions of the open swarm streams `from` holds to `to`. */
    const swarmStreams = (from: Member, to: Member): string[] => from.node.getConnections(to.node.peerId)
      .flatMap(c => c.streams).filter(s => s.protocol === SWARM_PROTOCOL && s.status === 'open').map(s => s.direction)
    // pairs until the dialling side has been both the smaller and the larger ID
    const seen = new Set<boolean>()
    for (let pair = 0; pair < 12 && seen.size < 2; pair++) {
      const d = await member([1])
      const e = await member([2])
      await d.node.dial(e.node.getMultiaddrs()[0])
      // e opens its session over d's connection: wait until e's side of it is set up
      await until(() => e.node.getConnections(d.node.peerId).length > 0, 15_000, 'e to see the connection from d')
      await Promise.all([d.host.connect(e.node.peerId, contentId), e.host.connect(d.node.peerId, contentId)])
      // the duplicate is closed by both sides: one session and one swarm stream left on each
      await until(() => d.host.sessionsOf(contentId) === 1 && e.host.sessionsOf(contentId) === 1 &&
        swarmStreams(d, e).length === 1 && swarmStreams(e, d).length === 1, 15_000, 'one session per side')
      // both kept the session the peer with the smaller ID opened (IDs compared as strings)
      const dSmaller = d.node.peerId.toString() < e.node.peerId.toString()
      seen.add(dSmaller)
      expect([pair, swarmStreams(d, e), swarmStreams(e, d)]).toEqual([pair, [dSmaller ? 'outbound' : 'inbound'], [dSmaller ? 'inbound' : 'outbound']])
      // the surviving session still carries `have`s: e hears of d's chunk and becomes interested
      const interested = (): boolean | undefined => d.host.peerStates().get(e.node.peerId.toString())?.interested
      await until(() => interested() === true, 15_000, 'e to be interested in d, which holds chunk 1')
    }
    expect(seen.size).toBe(2)
  })

  it('is interested in a peer exactly while it holds a chunk we lack (BEP 3)', async () => {
    const seed = await member([5])
    const leecher = await member([])
    await leecher.node.dial(seed.node.getMultiaddrs()[0])
    await leecher.host.connect(seed.node.peerId, contentId)
    const seen = (): boolean | undefined => seed.host.peerStates().get(leecher.node.peerId.toString())?.interested
    await until(() => seen() === true, 15_000, 'the leecher to be interested in the seed')
    // the leecher now holds chunk 5 too: the seed has nothing more for it
    await leecher.store.put(cids[5], chunks[5])
    leecher.host.chunkStored(contentId, 5)
    await until(() => seen() === false, 15_000, 'the leecher to lose interest')
    // and the seed is not interested in the leecher, which holds nothing it lacks
    expect(leecher.host.peerStates().get(seed.node.peerId.toString())?.interested).toBe(false)
  })
})
