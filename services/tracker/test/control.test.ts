import { describe, expect, it } from '@jest/globals'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { control } from '@codio/proto'
import { freePort, startRedis } from '@codio/sidecars'
import { createControlClient, TrackerClient } from '@codio/tracker'
import { Code, ConnectError } from '@connectrpc/connect'
import type { Tracker } from '../src/index.js'
import { controlClient, startControlTracker, watcher } from './control-helpers.js'
import { contentId, node, peerId, until } from './helpers.js'
import { useSidecars } from './sidecars.js'

const sidecars = useSidecars()
const { later, defer } = sidecars
const prefix = (): string => `c${randomBytes(4).toString('hex')}:`
const codeOf = async (p: Promise<unknown>): Promise<Code | undefined> => p.then(() => undefined, (e: unknown) => ConnectError.from(e).code)
const errorOf = async (p: Promise<unknown>): Promise<ConnectError> => p.then(() => { throw new Error('expected a failure') }, (e: unknown) => ConnectError.from(e))
/** a real Ed25519 public key, base64url (random 32 bytes are a curve point only about half the time) */
const publicKey = (): string => generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!
const { JobState } = control

describe('ControlService: cluster configuration', () => {
  it('versions each update, refuses a stale expected_version with Aborted, and names every bad key', async () => {
    const t = later(await startControlTracker(sidecars.nats.url, sidecars.redis.url, prefix()))
    const c = controlClient(t)
    const empty = (await c.getClusterConfig({ role: 'edge' })).config!
    expect(empty).toMatchObject({ role: 'edge', version: 0n, config: {}, updatedMs: 0n })

    const v1 = (await c.updateClusterConfig({ role: 'edge', config: { swarm: { maxUploadRate: '10MB' } } })).config!
    expect(v1.version).toBe(1n)
    expect(v1.config).toEqual({ swarm: { maxUploadRate: '10MB' } })
    expect(v1.updatedMs).toBeGreaterThan(0n)
    const v2 = (await c.updateClusterConfig({ role: 'edge', config: { fetch: { streamingWindow: 16 } }, expectedVersion: 1n })).config!
    expect(v2.version).toBe(2n)
    expect(v2.config).toEqual({ swarm: { maxUploadRate: '10MB' }, fetch: { streamingWindow: 16 } })

    const stale = await errorOf(c.updateClusterConfig({ role: 'edge', config: { logLevel: 'debug' }, expectedVersion: 1n }))
    expect(stale.code).toBe(Code.Aborted)
    // a masked path absent from the document removes it
    const v3 = (await c.updateClusterConfig({ role: 'edge', config: {}, updateMask: ['swarm.maxUploadRate'], expectedVersion: 2n })).config!
    expect(v3.version).toBe(3n)
    expect(v3.config).toEqual({ fetch: { streamingWindow: 16 } })

    const bad = await errorOf(c.updateClusterConfig({ role: 'edge', config: { swarm: { maxUploadRate: 'fast', noSuchKey: 1 }, fetch: { streamingWindow: -3 } } }))
    expect(bad.code).toBe(Code.InvalidArgument)
    for (const key of ['swarm.maxUploadRate', 'swarm.noSuchKey', 'fetch.streamingWindow']) expect(bad.rawMessage).toContain(key)
    const restart = await errorOf(c.updateClusterConfig({ role: 'edge', config: { p2p: { listen: ['/ip4/0.0.0.0/tcp/4001'] } } }))
    expect(restart.code).toBe(Code.FailedPrecondition)
    expect(restart.rawMessage).toContain('p2p.listen')
    expect(await codeOf(c.getClusterConfig({ role: 'mainframe' }))).toBe(Code.InvalidArgument)
    // nothing changed by the refused updates; other roles untouched
    expect((await c.getClusterConfig({ role: 'edge' })).config).toMatchObject({ version: 3n, config: { fetch: { streamingWindow: 16 } } })
    expect((await c.getClusterConfig({ role: 'relay' })).config!.version).toBe(0n)
  })

  it('loses no update when replicas change one document at the same time without expected_version', async () => {
    const p = prefix()
    const [a, b] = [later(await startControlTracker(sidecars.nats.url, sidecars.redis.url, p)), later(await startControlTracker(sidecars.nats.url, sidecars.redis.url, p))]
    const [ca, cb] = [controlClient(a), controlClient(b)]
    await Promise.all([
      ...[1, 2, 3, 4].map(async n => ca.updateClusterConfig({ role: 'relay', config: { fetch: { maxInFlight: n } } })),
      ...[1, 2, 3, 4].map(async n => cb.updateClusterConfig({ role: 'relay', config: { swarm: { regularUnchokeSlots: n } } }))
    ])
    const doc = (await ca.getClusterConfig({ role: 'relay' })).config!
    expect(doc.version).toBe(8n)
    expect(Object.keys(doc.config!).sort()).toEqual(['fetch', 'swarm'])
  })
})

describe('ControlService: Watch', () => {
  it('gives a watcher the snapshot, then a new one soon after an update, ban or key change', async () => {
    const t = later(await startControlTracker(sidecars.nats.url, sidecars.redis.url, prefix()))
    const c = controlClient(t)
    await c.updateClusterConfig({ role: 'edge', config: { swarm: { maxDownloadRate: '5MB' } } })
    const w = later(watcher(t.rpcUrl, peerId(), 'edge'))
    await until(() => w.seen.states.length === 1, 5000, 'the first snapshot')
    expect(w.seen.states[0]).toMatchObject({ version: 1, config: { swarm: { maxDownloadRate: '5MB' } }, bans: [], trustedKeys: [], revokedKeys: [] })
    expect(w.connected).toBe(true)

    const started = Date.now()
    await c.updateClusterConfig({ role: 'edge', config: { swarm: { maxDownloadRate: '1MB' } } })
    await until(() => w.seen.states.length === 2, 2000, 'a snapshot after the update')
    const took = Date.now() - started
    expect(w.seen.states[1]).toMatchObject({ version: 2, config: { swarm: { maxDownloadRate: '1MB' } } })
    process.stdout.write(`cluster update → watcher snapshot: ${took} ms\n`)

    // another role's document is none of its business
    await c.updateClusterConfig({ role: 'origin', config: { logLevel: 'debug' } })
    const banned = peerId()
    await c.banPeer({ peerId: banned, reason: 'abuse', durationSeconds: 3600 })
    await until(() => w.seen.states.at(-1)!.bans.length === 1, 2000, 'a snapshot with the ban')
    expect(w.seen.states.at(-1)!.bans[0]).toMatchObject({ peerId: banned, reason: 'abuse' })
    expect(w.seen.states.at(-1)!.bans[0].expiresMs - w.seen.states.at(-1)!.bans[0].createdMs).toBe(3600_000)
    const [k1, k2] = [publicKey(), publicKey()]
    await c.trustKey({ publicKey: k1 })
    await c.trustKey({ publicKey: k2 })
    await c.revokeKey({ publicKey: k1 })
    await until(() => w.seen.states.at(-1)!.revokedKeys.length === 1, 2000, 'a snapshot with the revocation')
    expect(w.seen.states.at(-1)).toMatchObject({ trustedKeys: [k2], revokedKeys: [k1], version: 2 })
    expect(w.seen.states.every(s => s.config.logLevel === undefined)).toBe(true)
    expect(await c.listKeys({})).toMatchObject({ trusted: [k2], revoked: [k1] })
    expect(await codeOf(c.trustKey({ publicKey: 'not-a-key' }))).toBe(Code.InvalidArgument)
    expect(await codeOf(c.banPeer({ peerId: 'not a peer', reason: '' }))).toBe(Code.InvalidArgument)
  })

  it('delivers a change made at replica A to a watcher of replica B, and a purge to every watcher', async () => {
    const p = prefix()
    const [a, b] = [later(await startControlTracker(sidecars.nats.url, sidecars.redis.url, p)), later(await startControlTracker(sidecars.nats.url, sidecars.redis.url, p))]
    const wb = later(watcher(b.rpcUrl, peerId(), 'edge'))
    const wr = later(watcher(a.rpcUrl, peerId(), 'relay'))
    await until(() => wb.seen.states.length === 1 && wr.seen.states.length === 1, 5000, 'first snapshots')
    await controlClient(a).updateClusterConfig({ role: 'edge', config: { fetch: { strategy: 'sequential' } } })
    await until(() => wb.seen.states.length === 2, 2000, 'the update at B')
    expect(wb.seen.states[1].config).toEqual({ fetch: { strategy: 'sequential' } })

    const cid = contentId()
    const { eventId } = await controlClient(b).purge({ contentId: cid })
    expect(eventId).toMatch(/^\d+-\d+$/)
    await until(() => wb.seen.purges.length === 1 && wr.seen.purges.length === 1, 2000, 'the purge at both watchers')
    expect(wb.seen.purges).toEqual([cid])
    expect(wr.seen.purges).toEqual([cid])
    expect(wb.lastEventId).toBe(eventId)
    expect(await codeOf(controlClient(a).purge({ contentId: 'no/such cid' }))).toBe(Code.InvalidArgument)
    // the relay's document did not change: no second snapshot for it
    expect(wr.seen.states).toHaveLength(1)
  })

  it('replays what a node missed after after_event_id, once, and only what is addressed to it', async () => {
    const t = later(await startControlTracker(sidecars.nats.url, sidecars.redis.url, prefix()))
    const c = controlClient(t)
    const me = peerId()
    const first = (await c.purge({ contentId: contentId() })).eventId
    const missed = contentId()
    await c.purge({ contentId: missed })
    const job = (await c.createPreheatJob({ contentIds: [contentId()], peerIds: [peerId()] })).job! // someone else's
    const mine = (await c.createPreheatJob({ contentIds: [contentId()], role: 'edge' })).job!
    const streaming = createControlClient(t.rpcUrl) // no deadline
    const abort = new AbortController()
    const got: control.WatchResponse[] = []
    const reading = (async () => {
      for await (const m of streaming.watch({ peerId: me, role: 'edge', afterEventId: first }, { signal: abort.signal })) got.push(m)
    })().catch(() => {})
    await until(() => got.filter(m => m.kind.case === 'command').length === 2, 3000, 'the replay')
    const live = contentId()
    await c.purge({ contentId: live })
    await until(() => got.filter(m => m.kind.case === 'command').length === 3, 3000, 'the live command')
    await new Promise(resolve => setTimeout(resolve, 500))
    abort.abort()
    await reading
    expect(got[0].kind.case).toBe('state')
    const commands = got.filter(m => m.kind.case === 'command').map(m => m.kind.value as control.Command)
    expect(commands.map(cmd => cmd.kind.case === 'purge' ? cmd.kind.value.contentId : cmd.kind.value!.jobId)).toEqual([missed, mine.id, live])
    expect(commands.map(cmd => cmd.kind.value!)).not.toContainEqual(expect.objectContaining({ jobId: job.id }))
    // heartbeats meanwhile: messages with neither state nor command
    expect(got.some(m => m.kind.case === undefined)).toBe(true)
    await until(() => t.control.watchers === 0, 2000, 'the aborted stream to unsubscribe')
    expect(await codeOf(c.watch({ peerId: me, role: 'edge', afterEventId: 'yesterday' })[Symbol.asyncIterator]().next())).toBe(Code.InvalidArgument)
    expect(await codeOf(c.watch({ peerId: me, role: 'toaster' })[Symbol.asyncIterator]().next())).toBe(Code.InvalidArgument)
  })

  it('keeps the last state while the tracker restarts, reconnects, and gets a command sent meanwhile exactly once', async () => {
    const p = prefix()
    const port = await freePort()
    let a: Tracker = await startControlTracker(sidecars.nats.url, sidecars.redis.url, p, port)
    defer(async () => a.stop())
    const b = later(await startControlTracker(sidecars.nats.url, sidecars.redis.url, p))
    const w = later(watcher(a.rpcUrl, peerId(), 'edge'))
    await until(() => w.seen.states.length === 1, 5000, 'the first snapshot')
    const before = contentId()
    await controlClient(b).purge({ contentId: before })
    await until(() => w.seen.purges.length === 1, 2000, 'a purge before the restart')

    await a.stop()
    expect(a.control.watchers).toBe(0)
    await until(() => !w.connected, 3000, 'the watcher to notice')
    const whileAway = contentId()
    await controlClient(b).purge({ contentId: whileAway })
    await controlClient(b).updateClusterConfig({ role: 'edge', config: { logLevel: 'warn' } })
    expect(w.state).toMatchObject({ version: 0 }) // the last state is kept
    await new Promise(resolve => setTimeout(resolve, 300))

    a = await startControlTracker(sidecars.nats.url, sidecars.redis.url, p, port)
    await until(() => w.connected && w.seen.purges.length === 2, 5000, 'the watcher back, with the missed purge')
    await until(() => w.seen.states.length === 2, 2000, 'the new snapshot')
    expect(w.seen.purges).toEqual([before, whileAway])
    expect(w.seen.states[1]).toMatchObject({ version: 1, config: { logLevel: 'warn' } })
    expect(w.stats.connects).toBe(2)
    await new Promise(resolve => setTimeout(resolve, 500))
    expect(w.seen.purges).toHaveLength(2)
  })

  it('keeps an idle stream open with heartbeats, and ends it when the node stops', async () => {
    const t = later(await startControlTracker(sidecars.nats.url, sidecars.redis.url, prefix()))
    const w = watcher(t.rpcUrl, peerId(), 'origin', { idleTimeoutMs: 800 })
    await until(() => w.connected, 5000, 'the stream')
    await new Promise(resolve => setTimeout(resolve, 2000))
    expect(w.stats).toMatchObject({ connects: 1, disconnects: 0 })
    expect(t.control.watchers).toBe(1)
    await w.stop()
    await until(() => t.control.watchers === 0, 2000, 'the stream to end at the tracker')
  })
  it('rides out a Redis restart: the stream stays open, nodes get the state Redis came back with, and changes flow again', async () => {
    const own = await startRedis()
    defer(async () => own.stop())
    const t = later(await startControlTracker(sidecars.nats.url, own.url, prefix()))
    const c = controlClient(t)
    await c.updateClusterConfig({ role: 'relay', config: { logLevel: 'warn' } })
    const w = later(watcher(t.rpcUrl, peerId(), 'relay'))
    await until(() => w.seen.states.length === 1, 5000, 'the first snapshot')
    await own.restart() // no persistence: the document and the event stream are gone
    await until(() => w.seen.states.length === 2, 10_000, 'the snapshot after the restart')
    expect(w.seen.states[1]).toMatchObject({ version: 0, config: {} })
    await c.updateClusterConfig({ role: 'relay', config: { logLevel: 'error' } })
    await until(() => w.seen.states.length === 3, 3000, 'a change after the restart')
    expect(w.seen.states[2]).toMatchObject({ version: 1, config: { logLevel: 'error' } })
    expect(w.stats.connects).toBe(1)
  })
})

describe('ControlService: preheat jobs', () => {
  it('runs a job on the nodes it targets and aggregates their reports', async () => {
    const t = later(await startControlTracker(sidecars.nats.url, sidecars.redis.url, prefix()))
    const c = controlClient(t)
    const [e1, e2, r1] = [peerId(), peerId(), peerId()]
    const gate: Array<() => void> = []
    const slow = async (_: string, cids: string[], report: (p: { state: 'running' | 'succeeded' | 'failed', contentsDone: number, contentsTotal: number, bytesDone: number }) => Promise<void>): Promise<void> => {
      await report({ state: 'running', contentsDone: 0, contentsTotal: cids.length, bytesDone: 0 })
      await new Promise<void>(resolve => gate.push(resolve))
      await report({ state: 'succeeded', contentsDone: cids.length, contentsTotal: cids.length, bytesDone: 1000 * cids.length })
    }
    const we1 = later(watcher(t.rpcUrl, e1, 'edge', { preheat: slow }))
    const we2 = later(watcher(t.rpcUrl, e2, 'edge', { preheat: slow }))
    const wr = later(watcher(t.rpcUrl, r1, 'relay', { preheat: async () => { throw new Error('disk full') } }))
    await until(() => we1.connected && we2.connected && wr.connected, 5000, 'three streams')

    const cids = [contentId(), contentId()]
    const job = (await c.createPreheatJob({ contentIds: cids, role: 'edge' })).job!
    expect(job).toMatchObject({ type: 'preheat', contentIds: cids, role: 'edge', peerIds: [], state: JobState.PENDING, nodes: [] })
    await until(async () => (await c.getJob({ id: job.id })).job!.nodes.length === 2, 3000, 'both edges running')
    expect((await c.getJob({ id: job.id })).job!.state).toBe(JobState.RUNNING)
    expect(wr.seen.preheats).toEqual([])
    gate.shift()!()
    await until(async () => (await c.getJob({ id: job.id })).job!.nodes.some(n => n.state === JobState.SUCCEEDED), 3000, 'one edge done')
    expect((await c.getJob({ id: job.id })).job!.state).toBe(JobState.RUNNING)
    gate.shift()!()
    await until(async () => (await c.getJob({ id: job.id })).job!.state === JobState.SUCCEEDED, 3000, 'the job done')
    const done = (await c.getJob({ id: job.id })).job!
    expect(done.nodes.map(n => n.peerId).sort()).toEqual([e1, e2].sort())
    expect(done.nodes[0]).toMatchObject({ state: JobState.SUCCEEDED, contentsDone: 2, contentsTotal: 2, bytesDone: 2000n })

    // a peer-list job: the relay fails it; the edge not listed never hears of it
    const failing = (await c.createPreheatJob({ contentIds: [contentId()], peerIds: [r1, e1] })).job!
    expect(failing.nodes.map(n => n.state)).toEqual([JobState.PENDING, JobState.PENDING])
    await until(async () => (await c.getJob({ id: failing.id })).job!.state === JobState.FAILED, 3000, 'the relay to fail it')
    const f = (await c.getJob({ id: failing.id })).job!
    expect(f.nodes.find(n => n.peerId === r1)).toMatchObject({ state: JobState.FAILED, error: 'disk full' })
    expect(we2.seen.preheats.map(p => p.jobId)).toEqual([job.id])

    const listed = (await c.listJobs({})).jobs
    expect(listed.map(j => j.id)).toEqual([failing.id, job.id])
    expect((await c.listJobs({ limit: 1 })).jobs.map(j => j.id)).toEqual([failing.id])
    while (gate.length > 0) gate.shift()!()
  })

  it('refuses bad jobs and reports: InvalidArgument, NotFound', async () => {
    const t = later(await startControlTracker(sidecars.nats.url, sidecars.redis.url, prefix()))
    const c = controlClient(t)
    const cid = contentId()
    expect(await codeOf(c.createPreheatJob({ contentIds: [cid] }))).toBe(Code.InvalidArgument)
    expect(await codeOf(c.createPreheatJob({ contentIds: [cid], role: 'edge', peerIds: [peerId()] }))).toBe(Code.InvalidArgument)
    expect(await codeOf(c.createPreheatJob({ contentIds: ['bafy not a cid'], role: 'edge' }))).toBe(Code.InvalidArgument)
    expect(await codeOf(c.createPreheatJob({ contentIds: [], role: 'edge' }))).toBe(Code.InvalidArgument)
    expect(await codeOf(c.createPreheatJob({ contentIds: [cid], role: 'toaster' }))).toBe(Code.InvalidArgument)
    expect(await codeOf(c.getJob({ id: 'no-such-job' }))).toBe(Code.NotFound)
    const progress = { peerId: peerId(), state: JobState.RUNNING, contentsDone: 0, contentsTotal: 1 }
    expect(await codeOf(c.reportJobProgress({ jobId: 'no-such-job', progress }))).toBe(Code.NotFound)
    const job = (await c.createPreheatJob({ contentIds: [cid], peerIds: [peerId()] })).job!
    expect(await codeOf(c.reportJobProgress({ jobId: job.id, progress }))).toBe(Code.InvalidArgument) // not a target
    expect(await codeOf(c.reportJobProgress({ jobId: job.id, progress: { ...progress, peerId: job.peerIds[0], state: JobState.PENDING } }))).toBe(Code.InvalidArgument)
    expect(await codeOf(c.reportJobProgress({ jobId: job.id }))).toBe(Code.InvalidArgument)
    expect((await c.getJob({ id: job.id })).job!.state).toBe(JobState.PENDING)
  })
})

describe('ControlService: fleet bans and purges in the tracker', () => {
  it('leaves a fleet-banned peer out of SelectPeers until the ban is lifted or expires, and a purged content out of availability', async () => {
    const t = later(await startControlTracker(sidecars.nats.url, sidecars.redis.url, prefix()))
    const c = controlClient(t)
    const cid = contentId()
    const [good, bad] = [peerId(), peerId()]
    const gossip = [node(sidecars.nats.url, good, [cid]), node(sidecars.nats.url, bad, [cid])]
    defer(async () => { for (const g of gossip) await g.stop() })
    const tracker = new TrackerClient({ baseUrl: t.rpcUrl, timeoutMs: 2000 })
    const selected = async (): Promise<string[]> => (await tracker.selectPeers(cid, 5)).map(p => p.peerId).sort()
    await until(async () => (await selected()).length === 2, 5000, 'both holders')

    await c.banPeer({ peerId: bad, reason: 'corrupt chunks' })
    expect(await selected()).toEqual([good])
    expect((await tracker.getPeerMetrics(bad)).banned).toBe(true)
    expect((await c.listBans({})).bans.map(b => b.peerId)).toEqual([bad])
    expect((await c.unbanPeer({ peerId: bad })).lifted).toBe(true)
    expect((await c.unbanPeer({ peerId: bad })).lifted).toBe(false)
    expect((await selected()).length).toBe(2)

    await c.banPeer({ peerId: bad, reason: 'a minute out', durationSeconds: 1 })
    expect(await selected()).toEqual([good])
    await until(async () => (await selected()).length === 2, 3000, 'the ban to expire')
    expect((await c.listBans({})).bans).toEqual([])

    // purge: every holder forgotten at once (the nodes, silent now, would re-announce it if they still held it)
    for (const g of gossip) await g.stop()
    expect(await tracker.listAvailability({ contentId: cid })).toHaveLength(2)
    await c.purge({ contentId: cid })
    expect(await tracker.listAvailability({ contentId: cid })).toEqual([])
    expect(await tracker.listAvailability({ peerId: good })).toEqual([])
    expect(await selected()).toEqual([])
  })
})

describe('ControlService behind bearer tokens', () => {
  it('lets a node token watch and report but not change the fleet; the watcher follows its token file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codio-control-'))
    defer(async () => rm(dir, { recursive: true, force: true }))
    const [nodeToken, adminToken] = [randomBytes(24).toString('base64url'), randomBytes(24).toString('base64url')]
    const [nodeFile, adminFile] = [join(dir, 'node'), join(dir, 'admin')]
    await writeFile(nodeFile, `${nodeToken}\n`)
    await writeFile(adminFile, `${adminToken}\n`)
    const t = later(await startControlTracker(sidecars.nats.url, sidecars.redis.url, prefix(), 0, { auth: { nodeTokenFiles: [nodeFile], adminTokenFiles: [adminFile], required: 'always' } }))
    const admin = createControlClient(t.rpcUrl, { token: adminToken, timeoutMs: 5000 })
    const asNode = createControlClient(t.rpcUrl, { token: nodeToken, timeoutMs: 5000 })
    expect(await codeOf(controlClient(t).getClusterConfig({ role: 'edge' }))).toBe(Code.Unauthenticated)
    expect(await codeOf(asNode.updateClusterConfig({ role: 'edge', config: { logLevel: 'debug' } }))).toBe(Code.PermissionDenied)
    expect(await codeOf(asNode.banPeer({ peerId: peerId() }))).toBe(Code.PermissionDenied)
    await admin.updateClusterConfig({ role: 'edge', config: { logLevel: 'debug' } })

    const [p1, p2] = [peerId(), peerId()]
    const good = later(watcher(t.rpcUrl, p1, 'edge', { tokenFile: nodeFile }))
    const none = later(watcher(t.rpcUrl, peerId(), 'edge'))
    const late = later(watcher(t.rpcUrl, p2, 'edge', { tokenFile: join(dir, 'not-yet') }))
    await until(() => good.seen.states.length === 1, 5000, 'the node-token watcher')
    expect(good.seen.states[0].config).toEqual({ logLevel: 'debug' })
    await new Promise(resolve => setTimeout(resolve, 700))
    expect(none.stats.connects + late.stats.connects).toBe(0)
    await writeFile(join(dir, 'not-yet'), `${nodeToken}\n`)
    await until(() => late.connected, 5000, 'the watcher to read its token file once it exists')

    const job = (await admin.createPreheatJob({ contentIds: [contentId()], role: 'edge' })).job!
    await until(async () => (await admin.getJob({ id: job.id })).job!.state === JobState.SUCCEEDED, 3000, 'reports made with the node token')
    expect((await admin.getJob({ id: job.id })).job!.nodes.map(n => n.peerId).sort()).toEqual([p1, p2].sort())
  })
})
