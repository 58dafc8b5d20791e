import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { connect, type Msg, type NatsConnection } from 'nats'
import { spawn, type ChildProcess } from 'node:child_process'
import { findBinary, freePort, startNats, type Sidecar } from '@codio/sidecars'
import { Bitfield } from '@codio/bitfield'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { decodeGossip, type Gossip } from '../src/gossip-codec.js'
import { GOSSIP_SIGNATURE_HEADER, verifyGossip } from '../src/gossip-signature.js'
import { GossipPublisher } from '../src/publisher.js'
import { gossipWildcard } from '../src/subjects.js'
import { contentId, until } from './helpers.js'

/** A node identity: its key and the peer ID the key gives. */
async function keyed (): Promise<{ privateKey: PrivateKey, id: string }> {
  const privateKey = await generateKeyPair('Ed25519')
  return { privateKey, id: peerIdFromPrivateKey(privateKey).toString() }
}

let nats: Sidecar
let sub: NatsConnection
const received: Gossip[] = []
const malformed: string[] = []
/** Messages whose signature did not verify against the peer they name. */
const unsigned: string[] = []

beforeAll(async () => {
  // a local server of our own (not NATS_URL, not a container whose port may move): one test restarts it
  nats = await startNats({ env: { PATH: process.env.PATH }, containers: false })
  sub = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
  sub.subscribe(gossipWildcard(), {
    callback: (_err, m: Msg) => {
      try {
        const g = decodeGossip(m.subject, m.data)
        received.push(g)
        void verifyGossip(g.update.peerId, m.subject, m.data, m.headers?.get(GOSSIP_SIGNATURE_HEADER)).then(ok => { if (!ok) unsigned.push(m.subject) })
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

/** A client connection to `url`, retried until a server answers there (10 s at most). */
async function retryConnect (url: string): Promise<NatsConnection> {
  const end = Date.now() + 10_000
  for (;;) {
    try {
      return await connect({ servers: url })
    } catch (err) {
      if (Date.now() > end) throw err
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }
}

const metrics = { uptimeSeconds: 10, chunksServed: 3, chunksFailed: 1, bytesServed: 3000 }
const from = (id: string, kind: Gossip['kind']): Gossip[] => received.filter(g => g.kind === kind && g.update.peerId === id)

describe('GossipPublisher over a real NATS', () => {
  it('publishes availability and metrics, each signed with the node\'s key, at start, on every interval, and after changed()', async () => {
    const { privateKey, id } = await keyed()
    const cid = contentId()
    let contents = [{ contentId: cid, chunkCount: 8, bitfield: Bitfield.full(8).toBytes() }]
    const p = new GossipPublisher({ nats: nats.url, privateKey, roles: ['edge'], multiaddrs: () => ['/ip4/127.0.0.1/tcp/1'], availability: () => contents, metrics: () => metrics, intervalMs: 200, debounceMs: 20 })
    p.start()
    try {
      await until(() => from(id, 'availability').length >= 3 && from(id, 'metrics').length >= 3, 5000, 'three rounds')
      const first = from(id, 'availability')[0]
      expect(first.kind === 'availability' && first.update).toMatchObject({ roles: ['edge'], multiaddrs: ['/ip4/127.0.0.1/tcp/1'], contents: [{ contentId: cid, complete: true }] })
      const m = from(id, 'metrics')[0]
      expect(m.kind === 'metrics' && m.update).toMatchObject({ chunksServed: 3, chunksFailed: 1 })
      const cid2 = contentId()
      contents = [...contents, { contentId: cid2, chunkCount: 8, bitfield: Bitfield.full(8).toBytes() }]
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
    expect(unsigned).toEqual([])
    expect(p.peerId).toBe(id)
  })

  it('publishNow during a round that read the old state resolves after one more round that reads the new one', async () => {
    const { privateKey, id } = await keyed()
    const cid = contentId()
    let contents = [{ contentId: cid, chunkCount: 8, bitfield: Bitfield.full(8).toBytes() }]
    let reading: (() => void) | undefined
    let reads = 0
    const p = new GossipPublisher({
      nats: sub,
      privateKey,
      // the first read is held until the change below has been made: that round carries stale state
      availability: async () => {
        const snapshot = contents
        if (reads++ === 0) await new Promise<void>(resolve => { reading = resolve })
        return snapshot
      },
      metrics: () => metrics,
      intervalMs: 60_000
    })
    p.start()
    await until(() => reading != null, 2000, 'the first round to read')
    contents = [] // purged
    const sent = p.publishNow()
    const alsoSent = p.publishNow()
    reading!()
    expect(await sent).toBe(true)
    expect(await alsoSent).toBe(true)
    // same connection: once flushed, whatever the publisher sent has been delivered to us
    await sub.flush()
    expect(from(id, 'availability')).toHaveLength(2)
    const last = from(id, 'availability').at(-1)!
    expect(last.kind === 'availability' && last.update.contents).toEqual([])
    expect(reads).toBe(2) // two calls during one round cost one more round, not two
    await p.stop()
  })

  it('never throws into the node: a failing callback or bad data is counted and the next round goes out', async () => {
    const { privateKey, id } = await keyed()
    let fail = true
    const p = new GossipPublisher({
      nats: sub,
      privateKey,
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
    const { privateKey, id } = await keyed()
    const p = new GossipPublisher({ nats: nats.url, privateKey, availability: () => [], metrics: () => metrics, intervalMs: 100 })
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

  it('waits for a NATS that is not up yet, publishes once it comes up, and stops cleanly while waiting', async () => {
    // a publisher that never finds its NATS stops cleanly
    const lone = new GossipPublisher({ nats: `nats://127.0.0.1:${await freePort()}`, privateKey: (await keyed()).privateKey, availability: () => [], metrics: () => metrics })
    lone.start()
    expect(lone.connected).toBe(false)
    expect(await lone.publishNow()).toBe(false)
    await lone.stop()
    // one that starts first sends its first round as soon as a server appears at its address
    const port = await freePort()
    const { privateKey, id } = await keyed()
    const p = new GossipPublisher({ nats: `nats://127.0.0.1:${port}`, privateKey, availability: () => [], metrics: () => metrics, intervalMs: 60_000 })
    p.start()
    let late: ChildProcess | undefined
    let seen: NatsConnection | undefined
    try {
      await new Promise(resolve => setTimeout(resolve, 300))
      expect(p.connected).toBe(false)
      late = spawn(findBinary('nats-server')!, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
      seen = await retryConnect(`nats://127.0.0.1:${port}`)
      const got: string[] = []
      seen.subscribe(gossipWildcard(), { callback: (_e, m) => got.push(decodeGossip(m.subject, m.data).update.peerId) })
      await seen.flush()
      // the 60 s interval is far off: only the connect-time round can deliver this in time
      await until(() => p.connected && got.includes(id), 15_000, 'the publisher to connect and publish to the late server')
    } finally {
      await p.stop()
      await seen?.close()
      late?.kill('SIGTERM')
    }
  })
  it('setIntervalMs changes the period of a running publisher at once', async () => {
    const { privateKey, id } = await keyed()
    const p = new GossipPublisher({ nats: nats.url, privateKey, availability: () => [], metrics: () => metrics, intervalMs: 60_000 })
    p.start()
    try {
      await until(() => from(id, 'metrics').length >= 1, 5000, 'the first round')
      expect(() => p.setIntervalMs(0)).toThrow(RangeError)
      p.setIntervalMs(100)
      await until(() => from(id, 'metrics').length >= 4, 2000, 'rounds at the new period')
    } finally {
      await p.stop()
    }
  })
})
