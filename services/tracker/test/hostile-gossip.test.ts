import { describe, expect, it } from '@jest/globals'
import { create, toBinary } from '@bufbuild/protobuf'
import { connect, headers, type NatsConnection } from 'nats'
import { Redis } from 'ioredis'
import { AvailabilitySchema } from '@codio/proto'
import { availabilitySubject, encodeAvailability, encodeMetrics, GOSSIP_SIGNATURE_HEADER, metricsSubject, signGossip, TrackerClient } from '@codio/tracker'
import type { Tracker } from '../src/index.js'
import { contentId, counter, node, peerId, peerKeyOf, startTracker, until } from './helpers.js'
import { useSidecars } from './sidecars.js'

// Issue 19: gossip validly signed by made-up or lying peers, against a real tracker over real NATS and Redis.
const sidecars = useSidecars()
const { later, defer } = sidecars
const metricsText = async (t: Tracker): Promise<string> => (await fetch(`${t.httpUrl}/metrics`)).text()

async function nats (): Promise<NatsConnection> {
  const nc = await connect({ servers: sidecars.nats.url })
  defer(async () => nc.close())
  return nc
}

/** Publish `data` on `subject`, signed by `id`'s key (from helpers' peerId()). */
async function publishSigned (nc: NatsConnection, id: string, subject: string, data: Uint8Array): Promise<void> {
  const h = headers()
  h.set(GOSSIP_SIGNATURE_HEADER, await signGossip(peerKeyOf(id), subject, data))
  nc.publish(subject, data, { headers: h })
}

const holds = (cid: string, chunkCount = 8): { contentId: string, chunkCount: number, complete: boolean } => ({ contentId: cid, chunkCount, complete: true })

describe('tracker against hostile gossip', () => {
  it('ranks the real holder, observed by others, above 20 made-up peers claiming 10^12 chunks served and 10^9 s up', async () => {
    const t = later(await startTracker(sidecars.nats.url, sidecars.redis.url))
    const client = new TrackerClient({ baseUrl: t.rpcUrl, timeoutMs: 2000 })
    const cid = contentId()
    const real = peerId()
    later(node(sidecars.nats.url, real, [cid], { chunksServed: 300, uptimeSeconds: 600 }))
    for (let i = 0; i < 3; i++) later(node(sidecars.nats.url, peerId(), [], { observations: [{ peerId: real, bytesPerSecond: 8e6, failures: 0, successes: 100 }] }))
    await until(async () => (await client.getPeerMetrics(real).catch(() => undefined))?.observedSuccesses === 300, 5000, 'the observations of the real holder')
    const liars = Array.from({ length: 20 }, () => peerId())
    for (const liar of liars) later(node(sidecars.nats.url, liar, [cid], { chunksServed: 1e12, uptimeSeconds: 1e9, bytesServed: 2 ** 52 }))
    await until(async () => (await client.listAvailability({ contentId: cid })).length === 21, 5000, 'the made-up peers')
    await until(async () => (await client.getPeerMetrics(liars[19])).chunksServed === 1e12, 5000, 'their claims')
    const picked = await client.selectPeers(cid, 20)
    expect(picked).toHaveLength(20)
    expect(picked[0].peerId).toBe(real)
    const liar = await client.getPeerMetrics(liars[0])
    expect(liar.reputation).toBeLessThan(picked[0].reputation)
    expect(liar.reliability).toBe('neutral')
  })

  it('refuses a far-future timestamp, and shows a peer again at its next genuine message after a sequence jump', async () => {
    const t = later(await startTracker(sidecars.nats.url, sidecars.redis.url))
    const client = new TrackerClient({ baseUrl: t.rpcUrl, timeoutMs: 2000 })
    const nc = await nats()
    const id = peerId()
    const cid = contentId()
    const subject = availabilitySubject(id)
    const visible = async (): Promise<boolean> => (await client.selectPeers(cid, 5)).some(p => p.peerId === id)
    await publishSigned(nc, id, subject, encodeAvailability({ peerId: id, contents: [holds(cid)], sequence: 1, timestampMs: Date.now() }))
    await until(visible, 5000, 'the peer')
    // timestamp and sequence 2^53 − 1, hiding every content: refused and counted
    const max = Number.MAX_SAFE_INTEGER
    await publishSigned(nc, id, subject, encodeAvailability({ peerId: id, contents: [], sequence: max, timestampMs: max }))
    await publishSigned(nc, id, metricsSubject(id), encodeMetrics({ peerId: id, uptimeSeconds: 1, chunksServed: 0, chunksFailed: 0, bytesServed: 0, sequence: max, timestampMs: max }))
    await until(async () => counter(await metricsText(t), 'codio_tracker_gossip_received_total') === 3, 5000, 'the messages')
    await new Promise(resolve => setTimeout(resolve, 100)) // (applied asynchronously)
    expect(await visible()).toBe(true)
    expect(counter(await metricsText(t), 'codio_tracker_gossip_refused_total', 'reason="future"')).toBe(2)
    // within the allowed skew, with the sequence at 2^53 − 1: taken, and the peer is hidden …
    await publishSigned(nc, id, subject, encodeAvailability({ peerId: id, contents: [], sequence: max, timestampMs: Date.now() + 55_000 }))
    await until(async () => !(await visible()), 5000, 'the peer to withdraw')
    // … but its next genuine message (sequence 2, its own clock) shows it again at once
    await new Promise(resolve => setTimeout(resolve, 5))
    const t0 = Date.now()
    await publishSigned(nc, id, subject, encodeAvailability({ peerId: id, contents: [holds(cid)], sequence: 2, timestampMs: Date.now() }))
    await until(visible, 30_000, 'the peer to be visible again')
    expect(Date.now() - t0).toBeLessThan(2000)
  })

  it('keeps the valid entries of an availability message with an invalid one (chunk count 0), counting the bad one', async () => {
    const t = later(await startTracker(sidecars.nats.url, sidecars.redis.url))
    const client = new TrackerClient({ baseUrl: t.rpcUrl, timeoutMs: 2000 })
    const nc = await nats()
    const id = peerId()
    const [empty, good] = [contentId(), contentId()]
    // as a node would send it (encodeAvailability now leaves such an entry out itself)
    const bytes = toBinary(AvailabilitySchema, create(AvailabilitySchema, { peerId: id, contents: [holds(empty, 0), holds(good)], sequence: 1n, timestampMs: BigInt(Date.now()) }))
    await publishSigned(nc, id, availabilitySubject(id), bytes)
    await until(async () => (await client.selectPeers(good, 5)).length === 1, 5000, 'the valid entry')
    expect(await client.selectPeers(empty, 5)).toEqual([])
    const text = await metricsText(t)
    expect(counter(text, 'codio_tracker_gossip_entries_dropped_total', 'reason="invalid"')).toBe(1)
    expect(counter(text, 'codio_tracker_gossip_malformed_total')).toBe(0)
  })

  it('refuses oversized messages and a peer past its message rate, counting each', async () => {
    const t = later(await startTracker(sidecars.nats.url, sidecars.redis.url, { gossip: { maxMessageBytes: 4096, maxMessagesPerPeer: 10 } }))
    const nc = await nats()
    const id = peerId()
    const big = encodeAvailability({ peerId: id, contents: Array.from({ length: 100 }, () => holds(contentId())), sequence: 1, timestampMs: Date.now() })
    expect(big.length).toBeGreaterThan(4096)
    await publishSigned(nc, id, availabilitySubject(id), big)
    for (let i = 0; i < 25; i++) await publishSigned(nc, id, availabilitySubject(id), encodeAvailability({ peerId: id, contents: [holds(contentId())], sequence: 2 + i, timestampMs: Date.now() }))
    await until(async () => counter(await metricsText(t), 'codio_tracker_gossip_received_total') === 26, 5000, 'all messages')
    await until(async () => counter(await metricsText(t), 'codio_tracker_gossip_applied_total') + counter(await metricsText(t), 'codio_tracker_gossip_refused_total', 'reason="rate"') === 25, 5000, 'the rest')
    const text = await metricsText(t)
    expect(counter(text, 'codio_tracker_gossip_refused_total', 'reason="size"')).toBe(1)
    expect(counter(text, 'codio_tracker_gossip_refused_total', 'reason="rate"')).toBe(15)
    expect(counter(text, 'codio_tracker_gossip_applied_total')).toBe(10)
  })

  it('does not let 30 valid ~1 MB availability messages from made-up peers inflate Redis', async () => {
    // (a loaded test machine may take more than the helpers' 300 ms per script)
    const t = later(await startTracker(sidecars.nats.url, sidecars.redis.url, { redis: { url: sidecars.redis.url, keyPrefix: `flood${Date.now()}:`, commandTimeout: 10_000 } }))
    const nc = await nats()
    const direct = new Redis(sidecars.redis.url)
    defer(async () => direct.disconnect())
    const usedMemory = async (): Promise<number> => Number(/used_memory:(\d+)/.exec(await direct.info('memory'))?.[1])
    const before = await usedMemory()
    const rssBefore = process.memoryUsage().rss
    let sent = 0
    const base = contentId().slice(0, -8) // distinct CIDs, cheaply: a shared stem and a counter
    const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
    const cid = (n: number): string => base + Array.from({ length: 8 }, (_, k) => B32[Math.floor(n / 32 ** k) % 32]).join('')
    for (let i = 0; i < 30; i++) {
      const id = peerId()
      const contents = Array.from({ length: 15_000 }, (_, j) => holds(cid(i * 15_000 + j), 1 + (i % 7)))
      const bytes = encodeAvailability({ peerId: id, contents, sequence: 1, timestampMs: Date.now() })
      sent += bytes.length
      await publishSigned(nc, id, availabilitySubject(id), bytes)
    }
    await nc.flush()
    await until(async () => counter(await metricsText(t), 'codio_tracker_gossip_applied_total') === 30, 40_000, 'the 30 messages').catch(async (err) => { console.log((await metricsText(t)).split('\n').filter(l => l.startsWith('codio_tracker_gossip')).join('\n')); throw err })
    const text = await metricsText(t)
    const grown = await usedMemory() - before
    const rssGrown = process.memoryUsage().rss - rssBefore
    // the figures for the record (issue 19 measured +273 MB in Redis before the limits)
    console.log(`flood: ${(sent / 1e6).toFixed(1)} MB sent in 30 messages; Redis used_memory ${(before / 1e6).toFixed(1)} → ${((before + grown) / 1e6).toFixed(1)} MB (+${(grown / 1e6).toFixed(1)} MB); test process (tracker inside) RSS +${(rssGrown / 1e6).toFixed(1)} MB; contents dropped ${counter(text, 'codio_tracker_gossip_entries_dropped_total', 'reason="contents"')}`)
    expect(sent).toBeGreaterThan(29e6)
    expect(counter(text, 'codio_tracker_gossip_entries_dropped_total', 'reason="contents"')).toBe(30 * 14_000)
    expect(grown).toBeLessThan(30e6)
  })
})
