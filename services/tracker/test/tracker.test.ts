import { describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, headers, type NatsConnection } from 'nats'
import { Redis } from 'ioredis'
import { Code, ConnectError, createClient } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'
import { TrackerService } from '@codio/proto'
import { freePort, startRedis } from '@codio/sidecars'
import { encodeAvailability, GOSSIP_SIGNATURE_HEADER, natsAuthOptions, signGossip, TrackerClient, TrackerUnavailableError, type GossipPublisher } from '@codio/tracker'
import type { Tracker } from '../src/index.js'
import { contentId, counter, node, peerId, peerKey, peerKeyOf, startTracker, until } from './helpers.js'
import { useSidecars } from './sidecars.js'

const sidecars = useSidecars()
const { later, defer } = sidecars

const rpc = (t: Tracker) => createClient(TrackerService, createConnectTransport({ baseUrl: t.rpcUrl, httpVersion: '1.1' }))
const codeOf = async (p: Promise<unknown>): Promise<Code | undefined> => p.then(() => undefined, (e: unknown) => ConnectError.from(e).code)
const metricsText = async (t: Tracker): Promise<string> => (await fetch(`${t.httpUrl}/metrics`)).text()

describe('tracker service with real NATS and Redis', () => {
  it('hears gossip from two nodes and answers SelectPeers, GetPeerMetrics and ListAvailability from it', async () => {
    const t = later(await startTracker(sidecars.nats.url, sidecars.redis.url))
    const cid = contentId()
    const [good, flaky] = [peerId(), peerId()]
    later(node(sidecars.nats.url, good, [cid], { chunksServed: 100, chunksFailed: 1 }))
    later(node(sidecars.nats.url, flaky, [cid, contentId()], { chunksServed: 100, chunksFailed: 60 }))
    const client = new TrackerClient({ baseUrl: t.rpcUrl, timeoutMs: 2000 })
    await until(async () => (await client.selectPeers(cid, 5)).length === 2, 5000, 'both nodes to be known')
    const peers = await client.selectPeers(cid, 5)
    expect(peers.map(p => p.peerId)).toEqual([good, flaky])
    expect(peers[0]).toMatchObject({ complete: true, chunkCount: 32, haveCount: 32, multiaddrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${good}`] })
    expect((await client.selectPeers(cid, 1, { requesterPeerId: good })).map(p => p.peerId)).toEqual([flaky])
    expect(await client.selectPeers(contentId(), 3)).toEqual([])

    // reputation comes from what others observed: a peer that received 200 chunks from `good`
    const observer = peerId()
    later(node(sidecars.nats.url, observer, [], { observations: [{ peerId: good, bytesPerSecond: 1e6, failures: 0, successes: 200 }] }))
    await until(async () => (await client.getPeerMetrics(good)).observedSuccesses > 0, 5000, 'the observation')
    const m = await client.getPeerMetrics(good)
    expect(m).toMatchObject({ peerId: good, online: true, reliability: 'neutral', chunksServed: 100, chunksFailed: 1, roles: ['edge'], contentCount: 1 })
    expect(m.reputation).toBeGreaterThan(0.6) // not reliable (> 0.8) before the tracker has heard from it for a while
    expect((await client.getPeerMetrics(flaky)).reputation).toBeLessThan(m.reputation)
    expect((await client.listAvailability({ contentId: cid })).map(e => e.peerId).sort()).toEqual([good, flaky].sort())
    expect(await client.listAvailability({ peerId: flaky })).toHaveLength(2)
    expect(await t.ready()).toBe(true)
    expect((await fetch(`${t.httpUrl}/readyz`)).status).toBe(200)
  })

  it('gives the same answers from two replicas over one Redis, sharing the gossip', async () => {
    const a = later(await startTracker(sidecars.nats.url, sidecars.redis.url))
    const b = later(await startTracker(sidecars.nats.url, sidecars.redis.url, { redis: { url: sidecars.redis.url, keyPrefix: a.config.redis.keyPrefix } }))
    const cid = contentId()
    const ids = Array.from({ length: 6 }, () => peerId())
    ids.forEach((id, i) => later(node(sidecars.nats.url, id, [cid], { chunksFailed: i })))
    const [ca, cb] = [new TrackerClient({ baseUrl: a.rpcUrl, timeoutMs: 2000 }), new TrackerClient({ baseUrl: b.rpcUrl, timeoutMs: 2000 })]
    await until(async () => (await ca.listAvailability({ contentId: cid })).length === 6, 5000, 'all six nodes')
    await until(async () => counter(await metricsText(a), 'codio_tracker_gossip_applied_total') > 0 && counter(await metricsText(b), 'codio_tracker_gossip_applied_total') > 0, 5000, 'both replicas to apply gossip')

    const direct = new Redis(sidecars.redis.url)
    try {
      const handedOut = async (): Promise<void> => { const k = await direct.keys(`${a.config.redis.keyPrefix}h:*`); if (k.length > 0) await direct.del(...k) }
      await handedOut()
      const fromA = await ca.selectPeers(cid, 3, { requesterPeerId: 'QmRequester' })
      await handedOut()
      const fromB = await cb.selectPeers(cid, 3, { requesterPeerId: 'QmRequester' })
      expect(fromB.map(p => p.peerId)).toEqual(fromA.map(p => p.peerId))
      expect(fromA.map(p => p.peerId)).toEqual(ids.slice(0, 3))
    } finally {
      direct.disconnect()
    }
    expect(await cb.getPeerMetrics(ids[4])).toEqual(await ca.getPeerMetrics(ids[4]))
  })

  it('drops and counts a malformed gossip message, and keeps going', async () => {
    const t = later(await startTracker(sidecars.nats.url, sidecars.redis.url))
    const nc: NatsConnection = await connect({ servers: sidecars.nats.url })
    try {
      const liar = peerId()
      nc.publish(`codio.gossip.availability.${peerId()}`, new Uint8Array([0xff, 0xff, 0xff]))
      nc.publish(`codio.gossip.metrics.${peerId()}`, new TextEncoder().encode('{"json": "is not protobuf"}'))
      // a well-formed message on another peer's subject
      nc.publish(`codio.gossip.availability.${peerId()}`, encodeAvailability({ peerId: liar, contents: [], sequence: 1, timestampMs: Date.now() }))
      nc.publish('codio.gossip.bogus.x', new Uint8Array([1]))
      await nc.flush()
      await until(async () => counter(await metricsText(t), 'codio_tracker_gossip_malformed_total') >= 4, 5000, 'the malformed counter')
      const text = await metricsText(t)
      expect(counter(text, 'codio_tracker_gossip_malformed_total', 'kind="availability"')).toBe(2)
      expect(counter(text, 'codio_tracker_gossip_malformed_total', 'kind="metrics"')).toBe(1)
      expect(counter(text, 'codio_tracker_gossip_malformed_total', 'kind="unknown"')).toBe(1)
      await expect(new TrackerClient({ baseUrl: t.rpcUrl }).getPeerMetrics(liar)).rejects.toMatchObject({ name: 'PeerNotFoundError' })
      // still serving and still applying gossip
      const id = peerId()
      const cid = contentId()
      later(node(sidecars.nats.url, id, [cid]))
      await until(async () => (await new TrackerClient({ baseUrl: t.rpcUrl, timeoutMs: 2000 }).selectPeers(cid, 1)).length === 1, 5000, 'gossip after the bad messages')
      expect((await fetch(`${t.httpUrl}/healthz`)).status).toBe(200)
    } finally {
      await nc.close()
    }
  })

  it('drops and counts gossip that is unsigned or signed by another key than the peer it names: it changes nothing', async () => {
    const t = later(await startTracker(sidecars.nats.url, sidecars.redis.url))
    const nc: NatsConnection = await connect({ servers: sidecars.nats.url })
    try {
      const [victim, forger] = [peerId(), peerKey()]
      const cid = contentId()
      const claim = (seq: number): Uint8Array => encodeAvailability({
        peerId: victim, roles: ['edge'], contents: [{ contentId: cid, chunkCount: 8, complete: true }], sequence: seq, timestampMs: Date.now()
      })
      const subject = `codio.gossip.availability.${victim}`
      nc.publish(subject, claim(1))
      const forged = headers()
      forged.set(GOSSIP_SIGNATURE_HEADER, await signGossip(forger, subject, claim(2)))
      nc.publish(subject, claim(2), { headers: forged })
      // a genuine signature over another message does not carry over
      const replayed = headers()
      replayed.set(GOSSIP_SIGNATURE_HEADER, await signGossip(peerKeyOf(victim), subject, claim(3)))
      nc.publish(subject, claim(4), { headers: replayed })
      await nc.flush()
      await until(async () => counter(await metricsText(t), 'codio_tracker_gossip_unauthenticated_total', 'kind="availability"') >= 3, 5000, 'the unauthenticated counter')
      expect(counter(await metricsText(t), 'codio_tracker_gossip_applied_total')).toBe(0)
      const client = new TrackerClient({ baseUrl: t.rpcUrl, timeoutMs: 2000 })
      expect(await client.selectPeers(cid, 5)).toEqual([])
      // the victim's own signed gossip is taken
      later(node(sidecars.nats.url, victim, [cid]))
      await until(async () => (await client.selectPeers(cid, 5)).length === 1, 5000, 'the genuine gossip')
    } finally {
      await nc.close()
    }
  })

  it('refuses bad RPC input with InvalidArgument (and an unknown peer with NotFound)', async () => {
    const t = later(await startTracker(sidecars.nats.url, sidecars.redis.url))
    const c = rpc(t)
    expect(await codeOf(c.selectPeers({ contentId: '', count: 3 }))).toBe(Code.InvalidArgument)
    expect(await codeOf(c.selectPeers({ contentId: contentId(), count: 0 }))).toBe(Code.InvalidArgument)
    expect(await codeOf(c.selectPeers({ contentId: contentId(), count: 101 }))).toBe(Code.InvalidArgument)
    expect(await codeOf(c.selectPeers({ contentId: 'no spaces please', count: 1 }))).toBe(Code.InvalidArgument)
    expect(await codeOf(c.selectPeers({ contentId: contentId(), count: 1, exclude: ['/ip4/1.2.3.4'] }))).toBe(Code.InvalidArgument)
    expect(await codeOf(c.getPeerMetrics({ peerId: '' }))).toBe(Code.InvalidArgument)
    expect(await codeOf(c.getPeerMetrics({ peerId: peerId() }))).toBe(Code.NotFound)
    expect(await codeOf(c.listAvailability({}))).toBe(Code.InvalidArgument)
    expect(await codeOf(c.listAvailability({ key: { case: 'contentId', value: '' } }))).toBe(Code.InvalidArgument)
    expect(await codeOf(c.selectPeers({ contentId: contentId(), count: 100 }))).toBeUndefined()
    const text = await metricsText(t)
    expect(counter(text, 'codio_tracker_rpc_requests_total', 'code="InvalidArgument"')).toBe(8)
  })

  it('absorbs a NATS restart: gossip resumes and the tracker stays up', async () => {
    const t = later(await startTracker(sidecars.nats.url, sidecars.redis.url))
    const id = peerId()
    const cid = contentId()
    later(node(sidecars.nats.url, id, [cid]))
    const client = new TrackerClient({ baseUrl: t.rpcUrl, timeoutMs: 2000 })
    await until(async () => (await client.selectPeers(cid, 1)).length === 1, 5000, 'gossip before the restart')
    const applied = async (): Promise<number> => counter(await metricsText(t), 'codio_tracker_gossip_applied_total')
    await sidecars.nats.restart()
    const before = await applied()
    await until(async () => await applied() >= before + 4, 10_000, 'gossip after the restart')
    expect(await t.ready()).toBe(true)
    expect((await client.selectPeers(cid, 1)).map(p => p.peerId)).toEqual([id])
  })

  it('never hands out a peer banned in its configuration, also after Redis lost its data', async () => {
    const own = await startRedis({ env: { PATH: process.env.PATH }, containers: false })
    try {
      const [good, bad] = [peerId(), peerId()]
      const t = later(await startTracker(sidecars.nats.url, own.url, { bannedPeers: [bad] }))
      const cid = contentId()
      later(node(sidecars.nats.url, good, [cid], { chunksFailed: 50 }))
      later(node(sidecars.nats.url, bad, [cid]))
      const client = new TrackerClient({ baseUrl: t.rpcUrl, timeoutMs: 2000 })
      await until(async () => (await client.listAvailability({ contentId: cid })).length === 2, 5000, 'both nodes')
      expect((await client.selectPeers(cid, 5)).map(p => p.peerId)).toEqual([good])
      expect((await client.getPeerMetrics(bad)).banned).toBe(true)
      await own.restart() // no persistence: everything is gone, gossip and the configured bans come back
      await until(async () => (await client.trySelectPeers(cid, 5))?.length === 1 && (await client.listAvailability({ contentId: cid })).length === 2, 5000, 'gossip after the Redis restart')
      expect((await client.selectPeers(cid, 5)).map(p => p.peerId)).toEqual([good])
    } finally {
      await own.stop()
    }
  })

  it('answers Unavailable (not a hang) while Redis is down or hung, and recovers', async () => {
    const own = await startRedis({ env: { PATH: process.env.PATH }, containers: false })
    try {
      const t = later(await startTracker(sidecars.nats.url, own.url))
      const id = peerId()
      const cid = contentId()
      later(node(sidecars.nats.url, id, [cid]))
      const client = new TrackerClient({ baseUrl: t.rpcUrl, timeoutMs: 3000 })
      await until(async () => (await client.selectPeers(cid, 1)).length === 1, 5000, 'gossip')

      // hung: the process stops answering; commands time out after 300 ms
      process.kill(own.pid as number, 'SIGSTOP')
      const t0 = Date.now()
      const err = await rpc(t).selectPeers({ contentId: cid, count: 1 }, { timeoutMs: 3000 }).catch((e: unknown) => ConnectError.from(e))
      expect(err).toBeInstanceOf(ConnectError)
      expect((err as ConnectError).code).toBe(Code.Unavailable)
      expect((err as ConnectError).rawMessage).toMatch(/Redis unavailable/)
      expect(Date.now() - t0).toBeLessThan(2000)
      expect((await fetch(`${t.httpUrl}/readyz`)).status).toBe(503)
      process.kill(own.pid as number, 'SIGCONT')
      await until(async () => (await client.trySelectPeers(cid, 1))?.length === 1, 5000, 'recovery after SIGCONT')

      // down: connection refused; the client sees TrackerUnavailableError
      await own.stop()
      await expect(client.selectPeers(cid, 1)).rejects.toBeInstanceOf(TrackerUnavailableError)
      expect(await codeOf(rpc(t).getPeerMetrics({ peerId: id }))).toBe(Code.Unavailable)
      expect((await fetch(`${t.httpUrl}/readyz`)).status).toBe(503)
      expect((await fetch(`${t.httpUrl}/healthz`)).status).toBe(200)
      await new Promise(resolve => setTimeout(resolve, 300)) // gossip keeps arriving meanwhile
      expect(counter(await metricsText(t), 'codio_tracker_gossip_apply_failures_total')).toBeGreaterThan(0)
    } finally {
      if (own.pid !== undefined) try { process.kill(own.pid, 'SIGCONT') } catch {}
      await own.stop()
    }
  })
})

describe('NATS credentials from files', () => {
  it('logs the tracker and a node in with a user and a password file; a wrong password leaves the tracker not ready', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codio-nats-auth-'))
    const port = await freePort()
    const server = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '--user', 'codio', '--pass', 's3cret'], { stdio: 'ignore' })
    try {
      const url = `nats://127.0.0.1:${port}`
      await writeFile(join(dir, 'password'), 's3cret\n') // as `echo s3cret > password` writes it
      await writeFile(join(dir, 'wrong'), 'guess')
      await until(async () => await natsAuthOptions({ user: 'codio', passwordFile: join(dir, 'password') })
        .then(async o => await connect({ servers: url, ...o })).then(async c => { await c.close(); return true }, () => false), 5000, 'the NATS server')

      const t = later(await startTracker(url, sidecars.redis.url, { nats: { servers: url, user: 'codio', passwordFile: join(dir, 'password') } }))
      expect((await fetch(`${t.httpUrl}/readyz`)).status).toBe(200)
      const [id, cid] = [peerId(), contentId()]
      later(node(url, id, [cid], {}, await natsAuthOptions({ user: 'codio', passwordFile: join(dir, 'password') })))
      const client = new TrackerClient({ baseUrl: t.rpcUrl, timeoutMs: 2000 })
      await until(async () => (await client.selectPeers(cid, 1)).length === 1, 5000, 'gossip through the authenticated server')

      const refused = later(await startTracker(url, sidecars.redis.url, { nats: { servers: url, user: 'codio', passwordFile: join(dir, 'wrong') } }))
      expect((await fetch(`${refused.httpUrl}/readyz`)).status).toBe(503)
      // a file that is not there fails the start with a clear error
      await expect(startTracker(url, sidecars.redis.url, { nats: { servers: url, tokenFile: join(dir, 'missing') } })).rejects.toMatchObject({ name: 'NatsCredentialsError' })
    } finally {
      server.kill()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses half-given credentials', async () => {
    await expect(natsAuthOptions({ user: 'codio' })).rejects.toMatchObject({ name: 'NatsCredentialsError' })
    await expect(natsAuthOptions({ passwordFile: '/x' })).rejects.toMatchObject({ name: 'NatsCredentialsError' })
    await expect(natsAuthOptions({ user: 'u', passwordFile: '/x', tokenFile: '/y' })).rejects.toMatchObject({ name: 'NatsCredentialsError' })
    expect(await natsAuthOptions({})).toEqual({})
  })
})
