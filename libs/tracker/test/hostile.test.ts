import { beforeEach, describe, expect, it } from '@jest/globals'
import { DEFAULT_GOSSIP_INTERVAL_MS, MAX_OBSERVED_BYTES_PER_SECOND, MAX_OBSERVER_WEIGHT, MAX_OBSERVED_REQUESTS_PER_SECOND } from '../src/constants.js'
import { TrackerStore, type TrackerStoreInit } from '../src/store/tracker-store.js'
import type { AvailabilityUpdate, Holding, MetricsUpdate, Observation } from '../src/types.js'
import { complete, contentId, HOUR, peerId } from './helpers.js'
import { useRedis } from './redis.js'

// Issue 19: what hostile gossip (validly signed by made-up or lying peers) must not do to the store.
const redis = useRedis()
let clock: number
let prefix: string
let seq = 0

const T0 = 1_700_000_000_000
const store = (over: Partial<TrackerStoreInit> = {}): TrackerStore => new TrackerStore({ redis: redis.client, keyPrefix: prefix, now: () => clock, ...over })
const availability = (id: string, contents: Holding[], over: Partial<AvailabilityUpdate> = {}): AvailabilityUpdate =>
  ({ peerId: id, multiaddrs: [`/ip4/10.0.0.1/tcp/4001/p2p/${id}`], roles: ['edge'], contents, sequence: ++seq, timestampMs: clock, ...over })
const metrics = (id: string, over: Partial<MetricsUpdate> = {}): MetricsUpdate =>
  ({ peerId: id, uptimeSeconds: 60, chunksServed: 0, chunksFailed: 0, bytesServed: 0, observations: [], sequence: ++seq, timestampMs: clock, ...over })
const observe = async (s: TrackerStore, observer: string, observations: Observation[]): Promise<void> => { await s.applyMetrics(metrics(observer, { observations })) }

beforeEach(() => {
  clock = T0
  prefix = `h${Math.random().toString(36).slice(2)}:`
})

/** A real holder of `cid`, up for an hour, that three other peers received 60 chunks each from. */
async function realHolder (s: TrackerStore, cid: string): Promise<string> {
  const real = peerId()
  await s.applyAvailability(availability(real, [complete(cid, 16)]))
  await s.applyMetrics(metrics(real, { uptimeSeconds: 2 * HOUR, chunksServed: 180 }))
  for (let i = 0; i < 3; i++) await observe(s, peerId(), [{ peerId: real, bytesPerSecond: 5e6, failures: 0, successes: 60 }])
  return real
}

describe('hostile gossip against the store', () => {
  it('ranks a real holder others observed above 20 made-up peers claiming 10^12 chunks served and 10^9 s up', async () => {
    const s = store()
    const cid = contentId()
    const real = await realHolder(s, cid)
    const liars = Array.from({ length: 20 }, () => peerId())
    for (const liar of liars) {
      await s.applyAvailability(availability(liar, [complete(cid, 16)]))
      await s.applyMetrics(metrics(liar, { uptimeSeconds: 1e9, chunksServed: 1e12, bytesServed: 2 ** 52 }))
    }
    const picked = await s.selectPeers({ contentId: cid, count: 20 })
    expect(picked[0].peerId).toBe(real)
    const liar = await s.getPeerMetrics(liars[0])
    expect(liar.reputation).toBeCloseTo(1 / 3, 6) // a newcomer's neutral prior, whatever it claims
    expect(liar.reliability).toBe('neutral')
    expect(picked[0].reputation).toBeGreaterThan(liar.reputation)
  })

  it('bounds what one observer reporting 10^15 failures does to a peer; it takes many observers to sink it', async () => {
    const s = store()
    const cid = contentId()
    const real = await realHolder(s, cid)
    const before = (await s.getPeerMetrics(real)).reputation
    await observe(s, peerId(), [{ peerId: real, bytesPerSecond: 0, failures: 1e15, successes: 0 }])
    const after = await s.getPeerMetrics(real)
    expect(after.observedFailures).toBeLessThanOrEqual(MAX_OBSERVER_WEIGHT)
    expect(after.reputation).toBeGreaterThan(0.5 * before)
    expect(after.reliability).not.toBe('unreliable')
    // its later reports add at most what time allows, and never past its weight
    clock += 1000
    const hostile = peerId()
    await observe(s, hostile, [{ peerId: real, bytesPerSecond: 0, failures: 10, successes: 0 }])
    clock += 1000
    await observe(s, hostile, [{ peerId: real, bytesPerSecond: 0, failures: 1e9, successes: 0 }])
    const growth = (await s.getPeerMetrics(real)).observedFailures - after.observedFailures
    expect(growth).toBeLessThanOrEqual(10 + MAX_OBSERVED_REQUESTS_PER_SECOND + 1e-6)
    // many observers agreeing do sink it
    for (let i = 0; i < 10; i++) await observe(s, peerId(), [{ peerId: real, bytesPerSecond: 0, failures: 1e15, successes: 0 }])
    expect((await s.getPeerMetrics(real)).reliability).toBe('unreliable')
  })

  it('counts uptime as the tracker heard it, starting again after a silence past the peer timeout', async () => {
    const s = store({ peerTimeoutMs: 60_000 })
    const id = peerId()
    await s.applyMetrics(metrics(id, { uptimeSeconds: 1e9 }))
    expect((await s.getPeerMetrics(id)).observedUptimeSeconds).toBe(0)
    clock += 50_000
    await s.applyMetrics(metrics(id, { uptimeSeconds: 1e9 }))
    expect((await s.getPeerMetrics(id)).observedUptimeSeconds).toBe(50)
    clock += 61_000 // silent past the timeout (its record kept alive by observers, say)
    await s.applyMetrics(metrics(id, { uptimeSeconds: 1e9 }))
    expect((await s.getPeerMetrics(id)).observedUptimeSeconds).toBe(0)
  })

  it('caps an absurd speed measurement', async () => {
    const s = store()
    const real = await realHolder(s, contentId())
    await observe(s, peerId(), [{ peerId: real, bytesPerSecond: 1e300, failures: 0, successes: 1 }])
    const m = await s.getPeerMetrics(real)
    expect(m.speedSamples).toBe(4)
    expect(m.downloadSpeedBps).toBe((3 * 5e6 + MAX_OBSERVED_BYTES_PER_SECOND) / 4)
  })

  it('refuses a far-future timestamp, and a sequence jump never locks the peer out', async () => {
    const s = store()
    const cid = contentId()
    const id = peerId()
    expect((await s.applyAvailability(availability(id, [complete(cid, 4)], { sequence: 7 }))).applied).toBe(true)
    // timestamp and sequence 2^53 − 1: refused outright
    const max = Number.MAX_SAFE_INTEGER
    expect(await s.applyAvailability(availability(id, [], { sequence: max, timestampMs: max }))).toMatchObject({ applied: false, refused: 'future' })
    expect(await s.applyMetrics(metrics(id, { sequence: max, timestampMs: max }))).toMatchObject({ applied: false, refused: 'future' })
    expect(await s.selectPeers({ contentId: cid, count: 5 })).toHaveLength(1)
    // within the allowed skew (60 s) but with the sequence at 2^53 − 1: taken (it hides the peer) …
    expect((await s.applyAvailability(availability(id, [], { sequence: max, timestampMs: clock + 59_000 }))).applied).toBe(true)
    expect(await s.applyMetrics(metrics(id, { sequence: max, timestampMs: clock + 59_000 }))).toMatchObject({ applied: true })
    expect(await s.selectPeers({ contentId: cid, count: 5 })).toEqual([])
    // … and the peer's next genuine message, one gossip interval later, shows it again
    clock += DEFAULT_GOSSIP_INTERVAL_MS
    expect((await s.applyAvailability(availability(id, [complete(cid, 4)], { sequence: 8 }))).applied).toBe(true)
    expect((await s.applyMetrics(metrics(id, { sequence: 9 }))).applied).toBe(true)
    expect((await s.selectPeers({ contentId: cid, count: 5 })).map(p => p.peerId)).toEqual([id])
    // and ordering still holds: an older message replayed or reordered is stale
    expect(await s.applyAvailability(availability(id, [], { sequence: 7, timestampMs: clock - 1 }))).toMatchObject({ applied: false, refused: 'stale' })
  })

  it('keeps few contents of an unproven peer, refuses new peers past the limit, and ignores observations of unknown peers', async () => {
    const s = store({ maxContentsUnproven: 10, maxContentsPerPeer: 50, maxPeers: 5 })
    const many = Array.from({ length: 80 }, () => complete(contentId(), 1))
    const newcomer = peerId()
    expect(await s.applyAvailability(availability(newcomer, many))).toMatchObject({ applied: true, droppedContents: 70 })
    expect(await s.listAvailability({ peerId: newcomer })).toHaveLength(10)
    // once another peer has received chunks from it, it may list up to maxContentsPerPeer
    await observe(s, peerId(), [{ peerId: newcomer, bytesPerSecond: 0, failures: 0, successes: 3 }])
    expect(await s.applyAvailability(availability(newcomer, many))).toMatchObject({ applied: true, droppedContents: 30 })
    expect(await s.listAvailability({ peerId: newcomer })).toHaveLength(50)
    // observations of made-up peers add nothing
    const keysBefore = (await redis.client.keys(`${prefix}*`)).length
    const observer = peerId()
    expect(await s.applyMetrics(metrics(observer, { observations: Array.from({ length: 100 }, () => ({ peerId: peerId(), bytesPerSecond: 1, failures: 1, successes: 1 })) }))).toMatchObject({ applied: true, droppedObservations: 100 })
    expect((await redis.client.keys(`${prefix}*`)).length).toBe(keysBefore + 2) // the observer's own record and ranking record
    // 5 peers tracked now (newcomer + 2 observers … ): new ones are refused, known ones still taken
    for (let i = 0; i < 3; i++) await s.applyAvailability(availability(peerId(), []))
    expect(await s.applyAvailability(availability(peerId(), [complete(contentId(), 1)]))).toMatchObject({ applied: false, refused: 'peers' })
    expect((await s.applyAvailability(availability(newcomer, many.slice(0, 2)))).applied).toBe(true)
    // peers past the timeout make room again
    clock += s.peerTimeoutMs + 1
    expect((await s.applyAvailability(availability(peerId(), []))).applied).toBe(true)
  })
})
