import { beforeEach, describe, expect, it } from '@jest/globals'
import { startRedis } from '@codio/sidecars'
import { Bitfield } from '@codio/bitfield'
import { InvalidRequestError, PeerNotFoundError, StoreUnavailableError } from '../src/errors.js'
import { createTrackerRedis, redisReady } from '../src/redis.js'
import { reputation } from '../src/scoring.js'
import { TrackerStore, type TrackerStoreInit } from '../src/store/tracker-store.js'
import type { AvailabilityUpdate, Holding, MetricsUpdate } from '../src/types.js'
import { complete, contentId, HOUR, peerId } from './helpers.js'
import { useRedis } from './redis.js'

const redis = useRedis()
let clock: number
let prefix: string
let seq = 0

const T0 = 1_700_000_000_000
const store = (over: Partial<TrackerStoreInit> = {}): TrackerStore => new TrackerStore({ redis: redis.client, keyPrefix: prefix, now: () => clock, ...over })

const availability = (id: string, contents: Holding[], over: Partial<AvailabilityUpdate> = {}): AvailabilityUpdate =>
  ({ peerId: id, multiaddrs: [`/ip4/10.0.0.1/tcp/4001/p2p/${id}`], roles: ['edge'], contents, sequence: ++seq, timestampMs: clock, ...over })

const metrics = (id: string, over: Partial<MetricsUpdate> = {}): MetricsUpdate =>
  ({ peerId: id, uptimeSeconds: HOUR, chunksServed: 100, chunksFailed: 0, bytesServed: 100 * 2 ** 20, observations: [], sequence: ++seq, timestampMs: clock, ...over })

/** Announce `id` as a complete holder of `cid` with the given counters. */
async function peer (s: TrackerStore, id: string, cid: string, m: Partial<MetricsUpdate> = {}): Promise<void> {
  expect((await s.applyAvailability(availability(id, [complete(cid, 16)]))).applied).toBe(true)
  expect((await s.applyMetrics(metrics(id, m))).applied).toBe(true)
}

beforeEach(() => {
  clock = T0
  prefix = `t${Math.random().toString(36).slice(2)}:`
})

describe('TrackerStore over a real Redis', () => {
  it('chooses the best 3 of 5 peers by reputation', async () => {
    const s = store()
    const cid = contentId()
    const ids = Array.from({ length: 5 }, () => peerId())
    const failed = [12, 0, 6, 1, 20] // as they own up to (ratio 1 / (f + 2))
    for (let i = 0; i < 5; i++) await peer(s, ids[i], cid, { chunksServed: 100, chunksFailed: failed[i] })
    const best = await s.selectPeers({ contentId: cid, count: 3 })
    expect(best.map(p => p.peerId)).toEqual([ids[1], ids[3], ids[2]])
    expect(best[0].reputation).toBeGreaterThan(best[1].reputation)
    expect(best[0]).toMatchObject({ complete: true, chunkCount: 16, haveCount: 16, load: 0, multiaddrs: [`/ip4/10.0.0.1/tcp/4001/p2p/${ids[1]}`] })
    expect(best[0].bitfield).toHaveLength(0)
  })

  it('reports a peer others received 100 chunks from (10 failed) and the tracker heard for 1 h as reliable (reputation > 0.8)', async () => {
    const s = store({ peerTimeoutMs: 2 * HOUR * 1000 }) // (it need not gossip in between)
    const id = peerId()
    await peer(s, id, contentId(), { chunksServed: 100, chunksFailed: 10, uptimeSeconds: HOUR })
    expect((await s.getPeerMetrics(id)).reliability).not.toBe('reliable') // its own claims do not make it reliable
    for (let i = 0; i < 2; i++) await s.applyMetrics(metrics(peerId(), { observations: [{ peerId: id, bytesPerSecond: 0, failures: 5, successes: 50 }] }))
    clock += HOUR * 1000
    await s.applyMetrics(metrics(id, { chunksServed: 100, chunksFailed: 10, uptimeSeconds: 2 * HOUR }))
    const m = await s.getPeerMetrics(id)
    expect(m.reputation).toBeGreaterThan(0.8)
    expect(m).toMatchObject({ reliability: 'reliable', online: true, lastSeenMs: T0 + HOUR * 1000, observedUptimeSeconds: HOUR, uptimeSeconds: 2 * HOUR, chunksServed: 100, chunksFailed: 10, observedSuccesses: 100, observedFailures: 10, roles: ['edge'], contentCount: 1, banned: false })
    await expect(s.getPeerMetrics(peerId())).rejects.toBeInstanceOf(PeerNotFoundError)
    await expect(s.getPeerMetrics('')).rejects.toBeInstanceOf(InvalidRequestError)
  })

  it('takes a peer past the timeout offline (injected clock) and back online when it gossips again', async () => {
    const s = store({ peerTimeoutMs: 5 * 60_000 })
    const cid = contentId()
    const [quiet, chatty] = [peerId(), peerId()]
    await peer(s, quiet, cid)
    clock += 4 * 60_000
    await peer(s, chatty, cid, { chunksFailed: 50 })
    expect((await s.selectPeers({ contentId: cid, count: 5 })).map(p => p.peerId)).toEqual([quiet, chatty])
    clock = T0 + 5 * 60_000 + 1
    expect((await s.selectPeers({ contentId: cid, count: 5 })).map(p => p.peerId)).toEqual([chatty])
    expect((await s.getPeerMetrics(quiet)).online).toBe(false)
    expect((await s.listAvailability({ contentId: cid })).map(e => e.peerId)).toEqual([chatty])
    expect(await s.listAvailability({ contentId: cid, includeOffline: true })).toHaveLength(2)
    await peer(s, quiet, cid)
    expect((await s.selectPeers({ contentId: cid, count: 5 })).map(p => p.peerId)).toContain(quiet)
  })

  it('never hands out a banned peer, nor excluded ones, nor the requester', async () => {
    const s = store()
    const cid = contentId()
    const ids = Array.from({ length: 4 }, () => peerId())
    for (const id of ids) await peer(s, id, cid)
    await s.ban(ids[0])
    expect(await s.banned()).toEqual([ids[0]])
    const got = (await s.selectPeers({ contentId: cid, count: 10, exclude: [ids[1]], requesterPeerId: ids[2] })).map(p => p.peerId)
    expect(got).toEqual([ids[3]])
    expect((await s.getPeerMetrics(ids[0])).banned).toBe(true)
    await s.unban(ids[0])
    expect((await s.selectPeers({ contentId: cid, count: 10 })).map(p => p.peerId)).toContain(ids[0])
  })

  it('spreads load over successive calls through the shared hand-out counter', async () => {
    const s = store()
    const cid = contentId()
    const ids = Array.from({ length: 5 }, () => peerId())
    for (const id of ids) await peer(s, id, cid)
    const firsts = new Set<string>()
    for (let i = 0; i < 5; i++) firsts.add((await s.selectPeers({ contentId: cid, count: 1 }))[0].peerId)
    expect(firsts.size).toBe(5)
    const m = await s.getPeerMetrics(ids[0])
    expect(m.load).toBe(1)
  })

  it('gives the same answers from two replicas over the same Redis', async () => {
    const cid = contentId()
    const ids = Array.from({ length: 30 }, () => peerId())
    const a = store()
    const b = store()
    for (const [i, id] of ids.entries()) await peer(i % 2 === 0 ? a : b, id, cid, { chunksFailed: i % 7, uptimeSeconds: HOUR * (1 + i % 3) })
    const requester = peerId()
    // the same question, alternately to each replica, then replayed against one replica from the same state
    const snapshot = await redis.client.keys(`${prefix}h:*`)
    expect(snapshot).toEqual([])
    const alternating: string[][] = []
    for (let i = 0; i < 6; i++) alternating.push((await (i % 2 === 0 ? a : b).selectPeers({ contentId: cid, count: 4, requesterPeerId: requester })).map(p => p.peerId))
    await redis.client.del(...await redis.client.keys(`${prefix}h:*`))
    const single: string[][] = []
    for (let i = 0; i < 6; i++) single.push((await a.selectPeers({ contentId: cid, count: 4, requesterPeerId: requester })).map(p => p.peerId))
    expect(alternating).toEqual(single)
    expect(new Set(alternating.flat()).size).toBeGreaterThan(4) // and the load moved around
    expect(await a.getPeerMetrics(ids[3])).toEqual(await b.getPeerMetrics(ids[3]))
    expect(await a.listAvailability({ contentId: cid })).toEqual(await b.listAvailability({ contentId: cid }))
  })

  it('keeps bitfields, withdraws contents a peer no longer announces, and ignores stale messages', async () => {
    const s = store()
    const id = peerId()
    const [c1, c2] = [contentId(), contentId()]
    const held = new Bitfield(12)
    held.set(3)
    held.set(11)
    const bits = held.toBytes()
    const partial: Holding = { contentId: c1, chunkCount: 12, haveCount: 2, complete: false, bitfield: bits }
    expect((await s.applyAvailability(availability(id, [partial, complete(c2, 4)], { sequence: 10, timestampMs: T0 }))).applied).toBe(true)
    const [got] = await s.selectPeers({ contentId: c1, count: 1 })
    expect(got).toMatchObject({ peerId: id, chunkCount: 12, haveCount: 2, complete: false })
    expect([...got.bitfield]).toEqual([...bits])
    expect((await s.listAvailability({ peerId: id })).map(e => e.contentId).sort()).toEqual([c1, c2].sort())

    // a reordered older message changes nothing
    expect((await s.applyAvailability(availability(id, [], { sequence: 9, timestampMs: T0 - 1 }))).applied).toBe(false)
    expect(await s.listAvailability({ peerId: id })).toHaveLength(2)

    expect((await s.applyAvailability(availability(id, [complete(c2, 4)], { sequence: 11, timestampMs: T0 + 1 }))).applied).toBe(true)
    expect(await s.selectPeers({ contentId: c1, count: 1 })).toEqual([])
    expect((await s.listAvailability({ peerId: id })).map(e => e.contentId)).toEqual([c2])
    // a restarted peer counts its sequence from 1 again, with a later timestamp
    clock = T0 + 2
    expect((await s.applyAvailability(availability(id, [], { sequence: 1, timestampMs: T0 + 2 }))).applied).toBe(true)
    await expect(s.listAvailability({ contentId: c1, peerId: id } as any)).rejects.toBeInstanceOf(InvalidRequestError)
  })

  it('turns observations into download speed (mean of the last 10) and observed failures into lower reputation', async () => {
    const s = store()
    const cid = contentId()
    const target = peerId()
    await peer(s, target, cid, { chunksServed: 100, chunksFailed: 0 })
    const before = (await s.getPeerMetrics(target)).reputation
    const observers = [peerId(), peerId()]
    for (let i = 1; i <= 12; i++) {
      const o = observers[i % 2]
      // cumulative counts: each observer's failures grow by 5 per report
      await s.applyMetrics(metrics(o, { observations: [{ peerId: target, bytesPerSecond: i * 1e6, failures: 5 * Math.ceil(i / 2), successes: 10 * Math.ceil(i / 2) }] }))
    }
    const m = await s.getPeerMetrics(target)
    expect(m.speedSamples).toBe(10)
    expect(m.downloadSpeedBps).toBe((3 + 12) / 2 * 1e6)
    expect(m.observedFailures).toBe(60)
    expect(m.observedSuccesses).toBe(120)
    expect(m.reputation).toBeGreaterThan(before) // 120 chunks others received beat none
    expect(m.reputation).toBeCloseTo(reputation({ observedUptimeSeconds: 0, chunksFailed: 0, observedSuccesses: 120, observedFailures: 60 }), 9)
    expect(m.reputation).toBeLessThan(reputation({ observedUptimeSeconds: 0, chunksFailed: 0, observedSuccesses: 120, observedFailures: 0 }))
    // an observer that restarted reports smaller counts: they are added, not subtracted
    await s.applyMetrics(metrics(observers[0], { observations: [{ peerId: target, bytesPerSecond: 0, failures: 1, successes: 2 }] }))
    const after = await s.getPeerMetrics(target)
    expect(after.observedFailures).toBe(61)
    expect(after.observedSuccesses).toBe(122)
    expect(after.speedSamples).toBe(10)
    const [c] = await s.selectPeers({ contentId: cid, count: 1 })
    expect(c.downloadSpeedBps).toBe(after.downloadSpeedBps)
    expect(c.reputation).toBe(after.reputation)
  })

  it('sets every key to expire at the peer timeout', async () => {
    const s = store({ peerTimeoutMs: 60_000 })
    const id = peerId()
    const cid = contentId()
    const held = new Bitfield(9)
    held.set(8)
    const bits = held.toBytes()
    await s.applyAvailability(availability(id, [complete(cid, 16), { contentId: contentId(), chunkCount: 9, haveCount: 1, complete: false, bitfield: bits }]))
    await s.applyMetrics(metrics(id))
    await s.applyMetrics(metrics(peerId(), { observations: [{ peerId: id, bytesPerSecond: 5, failures: 0, successes: 1 }] }))
    await s.selectPeers({ contentId: cid, count: 1 })
    const keys = (await redis.client.keys(`${prefix}*`)).map(k => k.slice(prefix.length).replace(/:.*/, '')).sort()
    // peer and ranking record ×2 (holder, observer), the tracked peers, its contents, holders ×2, counts ×2, the partial bitfield, a hand-out counter
    expect(keys).toEqual(['b', 'c', 'c', 'h', 'n', 'n', 'p', 'p', 'pc', 'peers', 'r', 'r'])
    for (const k of await redis.client.keys(`${prefix}*`)) {
      const ttl = await redis.client.pttl(k)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(60_000)
    }
  })

  it('fails fast with StoreUnavailableError when Redis is down', async () => {
    const down = await startRedis({ env: { PATH: process.env.PATH }, containers: false })
    const client = createTrackerRedis(down.url, { commandTimeoutMs: 300, connectTimeoutMs: 300 })
    try {
      const s = new TrackerStore({ redis: client, keyPrefix: prefix })
      expect(await redisReady(client)).toBe(true)
      await s.ping()
      await down.stop()
      const t0 = Date.now()
      await expect(s.selectPeers({ contentId: contentId(), count: 3 })).rejects.toBeInstanceOf(StoreUnavailableError)
      await expect(s.applyMetrics(metrics(peerId()))).rejects.toBeInstanceOf(StoreUnavailableError)
      await expect(s.getPeerMetrics(peerId())).rejects.toBeInstanceOf(StoreUnavailableError)
      expect(Date.now() - t0).toBeLessThan(3000)
    } finally {
      client.disconnect()
      await down.stop()
    }
  })
})
