import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { connect, type Msg, type NatsConnection } from 'nats'
import { startNats, type Sidecar } from '@codio/sidecars'
import { fullBitfield } from '../src/bitfield.js'
import { decodeGossip, type Gossip } from '../src/gossip-codec.js'
import { GossipPublisher } from '../src/publisher.js'
import { gossipWildcard } from '../src/subjects.js'
import { contentId, peerId, until } from './helpers.js'

let nats: Sidecar
let sub: NatsConnection
const received: Gossip[] = []
const malformed: string[] = []

beforeAll(async () => {
  // a local server of our own (not NATS_URL, not a container whose port may move): one test restarts it
  nats = await startNats({ env: { PATH: process.env.PATH }, containers: false })
  sub = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
  sub.subscribe(gossipWildcard(), {
    callback: (_err, m: Msg) => {
      try {
        received.push(decodeGossip(m.subject, m.data))
      } catch (e) {
        malformed.push((e as Error).message)
      }
    }
  })
  await sub.flush()
})

afterAll(async () => {
  await sub.close()
  await nats.stop()
})

const metrics = { uptimeSeconds: 10, chunksServed: 3, chunksFailed: 1, bytesServed: 3000 }
const from = (id: string, kind: Gossip['kind']): Gossip[] => received.filter(g => g.kind === kind && g.update.peerId === id)

describe('GossipPublisher over a real NATS', () => {
  it('publishes availability and metrics at start, on every interval, and after changed()', async () => {
    const id = peerId()
    const cid = contentId()
    let contents = [{ contentId: cid, chunkCount: 8, bitfield: fullBitfield(8) }]
    const p = new GossipPublisher({ nats: nats.url, peerId: id, roles: ['edge'], multiaddrs: () => ['/ip4/127.0.0.1/tcp/1'], availability: () => contents, metrics: () => metrics, intervalMs: 200, debounceMs: 20 })
    p.start()
    try {
      await until(() => from(id, 'availability').length >= 3 && from(id, 'metrics').length >= 3, 5000, 'three rounds')
      const first = from(id, 'availability')[0]
      expect(first.kind === 'availability' && first.update).toMatchObject({ roles: ['edge'], multiaddrs: ['/ip4/127.0.0.1/tcp/1'], contents: [{ contentId: cid, complete: true }] })
      const m = from(id, 'metrics')[0]
      expect(m.kind === 'metrics' && m.update).toMatchObject({ chunksServed: 3, chunksFailed: 1 })
      const cid2 = contentId()
      contents = [...contents, { contentId: cid2, chunkCount: 8, bitfield: fullBitfield(8) }]
      p.changed()
      p.changed()
      await until(() => from(id, 'availability').some(g => g.kind === 'availability' && g.update.contents.length === 2), 1000, 'the change')
      const seqs = received.filter(g => g.update.peerId === id).map(g => g.update.sequence)
      expect(new Set(seqs).size).toBe(seqs.length)
      expect(p.stats.failed).toBe(0)
    } finally {
      await p.stop()
    }
    expect(malformed).toEqual([])
  })

  it('never throws into the node: a failing callback or bad data is counted and the next round goes out', async () => {
    const id = peerId()
    let fail = true
    const p = new GossipPublisher({
      nats: sub,
      peerId: id,
      availability: () => { if (fail) throw new Error('store closed'); return [] },
      metrics: () => fail ? { ...metrics, chunksServed: -1 } : metrics,
      intervalMs: 50
    })
    p.start()
    await until(() => p.stats.failed >= 2, 2000, 'failures')
    expect(from(id, 'availability')).toHaveLength(0)
    fail = false
    await until(() => from(id, 'availability').length > 0 && from(id, 'metrics').length > 0, 2000, 'recovery')
    await p.stop()
    expect(sub.isClosed()).toBe(false) // a shared connection is left open
    expect(await p.publishNow()).toBe(false)
  })

  it('keeps publishing across a NATS restart', async () => {
    const id = peerId()
    const p = new GossipPublisher({ nats: nats.url, peerId: id, availability: () => [], metrics: () => metrics, intervalMs: 100 })
    p.start()
    try {
      await until(() => from(id, 'metrics').length >= 2, 3000, 'gossip before the restart')
      await nats.restart()
      const before = from(id, 'metrics').length
      await until(() => from(id, 'metrics').length >= before + 3, 10_000, 'gossip after the restart')
    } finally {
      await p.stop()
    }
  })

  it('waits for a NATS that is not up yet, and stops cleanly while waiting', async () => {
    const p = new GossipPublisher({ nats: 'nats://127.0.0.1:1', peerId: peerId(), availability: () => [], metrics: () => metrics })
    p.start()
    expect(p.connected).toBe(false)
    expect(await p.publishNow()).toBe(false)
    await p.stop()
  })
})
