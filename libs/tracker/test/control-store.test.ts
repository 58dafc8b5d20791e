import { beforeEach, describe, expect, it } from '@jest/globals'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import * as controlErrors from '../src/control-errors.js'
import { InvalidPublicKeyError, JobNotFoundError, VersionConflictError } from '../src/control-errors.js'
import { jobState } from '../src/control-types.js'
import { InvalidRequestError } from '../src/errors.js'
import { compareEventIds, decodeEvent } from '../src/store/control-events.js'
import { ControlStore, isPublicKey } from '../src/store/control-store.js'
import { TrackerStore } from '../src/store/tracker-store.js'
import { complete, contentId, peerId } from './helpers.js'
import { useRedis } from './redis.js'

const redis = useRedis()
let clock: number
let prefix: string
let control: ControlStore

const T0 = 1_700_000_000_000
/** a real Ed25519 public key, base64url (random 32 bytes are a curve point only about half the time) */
const key = (): string => generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!

beforeEach(() => {
  clock = T0
  prefix = `ct${randomBytes(4).toString('hex')}:`
  control = new ControlStore({ redis: redis.client, keyPrefix: prefix, now: () => clock })
})

describe('ControlStore: cluster documents', () => {
  it('starts at version 0, counts each update, and refuses a stale expected version', async () => {
    expect(await control.getClusterConfig('edge')).toEqual({ role: 'edge', version: 0, config: {}, updatedMs: 0 })
    const seen: number[] = []
    const v1 = await control.updateClusterConfig('edge', 0, (cur) => { seen.push(cur.version); return { a: 1 } })
    expect(v1).toEqual({ role: 'edge', version: 1, config: { a: 1 }, updatedMs: T0 })
    clock += 1000
    const v2 = await control.updateClusterConfig('edge', 1, (cur) => ({ ...cur.config, b: 2 }))
    expect(v2).toMatchObject({ version: 2, config: { a: 1, b: 2 }, updatedMs: T0 + 1000 })
    const err = await control.updateClusterConfig('edge', 1, () => ({})).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(VersionConflictError)
    expect((err as VersionConflictError).currentVersion).toBe(2)
    expect(await control.getClusterConfig('edge')).toMatchObject({ version: 2, config: { a: 1, b: 2 } })
    expect(seen).toEqual([0])
  })

  it('changes nothing when the computation throws, and reads again when another update came in between', async () => {
    await expect(control.updateClusterConfig('relay', 0, () => { throw new Error('bad keys') })).rejects.toThrow('bad keys')
    expect((await control.getClusterConfig('relay')).version).toBe(0)
    let sneaked = false
    const doc = await control.updateClusterConfig('relay', 0, (cur) => {
      if (!sneaked) {
        sneaked = true
        // another replica's update lands between this one's read and write
        void redis.client.hset(`${prefix}cc:relay`, 'doc', '{"other":true}', 'version', '1')
      }
      return { ...cur.config, mine: true }
    })
    expect(doc).toMatchObject({ version: 2, config: { other: true, mine: true } })
    await expect(control.getClusterConfig('Not A Role')).rejects.toBeInstanceOf(InvalidRequestError)
  })

  it('announces each update in the event stream, in the same step', async () => {
    const before = await control.lastEventId()
    await control.updateClusterConfig('origin', 0, () => ({ x: 1 }))
    const { events } = await control.eventsAfter(before)
    expect(events).toEqual([expect.objectContaining({ kind: 'state', scope: 'config', role: 'origin' })])
  })
})

describe('ControlStore: bans, keys, purge', () => {
  it('keeps bans with their expiry, lists only active ones, and SelectPeers skips them', async () => {
    const tracker = new TrackerStore({ redis: redis.client, keyPrefix: prefix, now: () => clock })
    const cid = contentId()
    const [a, b] = [peerId(), peerId()]
    for (const [i, p] of [a, b].entries()) {
      await tracker.applyAvailability({ peerId: p, multiaddrs: [`/ip4/10.0.0.${i + 1}/tcp/4001/p2p/${p}`], roles: ['edge'], contents: [complete(cid, 4)], sequence: 1, timestampMs: clock })
    }
    const ban = await control.banPeer(a, 'x'.repeat(5000), 60)
    expect(ban).toEqual({ peerId: a, reason: 'x'.repeat(1024), createdMs: T0, expiresMs: T0 + 60_000 })
    await control.banPeer(b, 'forever', 0)
    expect((await control.listBans()).map(x => [x.peerId, x.expiresMs]).sort()).toEqual([[a, T0 + 60_000], [b, 0]].sort())
    expect(await tracker.selectPeers({ contentId: cid, count: 5 })).toEqual([])
    expect((await tracker.getPeerMetrics(b)).banned).toBe(true)

    clock += 61_000
    expect((await control.listBans()).map(x => x.peerId)).toEqual([b])
    expect((await tracker.selectPeers({ contentId: cid, count: 5 })).map(p => p.peerId)).toEqual([a])
    expect((await tracker.getPeerMetrics(a)).banned).toBe(false)
    expect(await control.unbanPeer(a)).toBe(false) // expired already
    expect(await control.unbanPeer(b)).toBe(true)
    expect(await control.listBans()).toEqual([])
    await expect(control.banPeer('not a peer', '', 0)).rejects.toBeInstanceOf(InvalidRequestError)
    await expect(control.banPeer(a, '', -1)).rejects.toBeInstanceOf(InvalidRequestError)
  })

  it('trusts and revokes keys (a revoked key trusted again leaves the revoked list)', async () => {
    const [k1, k2] = [key(), key()]
    await control.trustKey(k1)
    await control.trustKey(k2)
    await control.revokeKey(k1)
    expect(await control.listKeys()).toEqual({ trusted: [k2], revoked: [k1] })
    await control.trustKey(k1)
    expect(await control.listKeys()).toEqual({ trusted: [k1, k2].sort(), revoked: [] })
    await expect(control.trustKey('abc')).rejects.toBeInstanceOf(InvalidPublicKeyError)
    await expect(control.revokeKey(randomBytes(31).toString('base64url'))).rejects.toBeInstanceOf(InvalidPublicKeyError)
    expect(isPublicKey(key())).toBe(true)
    expect(isPublicKey(randomBytes(32).toString('base64'))).toBe(false)
  })

  // found by the fuzz target rpc.request-validators: canonical base64url of 32 bytes that are
  // no Ed25519 point was accepted, then every node's TrustedKeys threw applying it
  it('refuses 32 bytes that are not an Ed25519 point (fuzz regression)', async () => {
    const notAPoint = 'a0---10a-AB-AaA12-11200A00-_3ZBa0aB2_-_aD0A'
    expect(Buffer.from(notAPoint, 'base64url').toString('base64url')).toBe(notAPoint)
    expect(isPublicKey(notAPoint)).toBe(false)
    await expect(control.trustKey(notAPoint)).rejects.toBeInstanceOf(InvalidPublicKeyError)
    await expect(control.revokeKey(notAPoint)).rejects.toBeInstanceOf(InvalidPublicKeyError)
  })

  it('purges a content from the availability of every holder and appends the command', async () => {
    const tracker = new TrackerStore({ redis: redis.client, keyPrefix: prefix, now: () => clock })
    const [cid, other] = [contentId(), contentId()]
    const p = peerId()
    await tracker.applyAvailability({ peerId: p, multiaddrs: [], roles: ['edge'], contents: [complete(cid, 4), complete(other, 4)], sequence: 1, timestampMs: clock })
    const id = await control.purge(cid)
    expect(await tracker.listAvailability({ contentId: cid })).toEqual([])
    expect((await tracker.listAvailability({ peerId: p })).map(e => e.contentId)).toEqual([other])
    const { events } = await control.eventsAfter('0-0')
    expect(events.at(-1)).toEqual({ id, kind: 'purge', contentId: cid })
    await expect(control.purge('')).rejects.toBeInstanceOf(InvalidRequestError)
  })
})

describe('ControlStore: preheat jobs', () => {
  it('stores a job, records progress per node, aggregates it, and lists jobs newest first', async () => {
    const [p1, p2] = [peerId(), peerId()].sort()
    const { job, eventId } = await control.createPreheatJob({ contentIds: [contentId(), contentId()], peerIds: [p1, p2] })
    expect(job).toMatchObject({ type: 'preheat', role: '', peerIds: [p1, p2], state: 'pending', createdMs: T0 })
    expect(job.nodes.map(n => n.state)).toEqual(['pending', 'pending'])
    const { events } = await control.eventsAfter('0-0')
    expect(events.at(-1)).toEqual({ id: eventId, kind: 'preheat', jobId: job.id, contentIds: job.contentIds, role: '', peerIds: [p1, p2] })

    await control.reportJobProgress(job.id, { peerId: p1, state: 'running', contentsDone: 1, contentsTotal: 2, bytesDone: 100 })
    expect((await control.getJob(job.id)).state).toBe('running')
    await control.reportJobProgress(job.id, { peerId: p1, state: 'succeeded', contentsDone: 2, contentsTotal: 2, bytesDone: 200 })
    expect((await control.getJob(job.id)).state).toBe('running') // p2 has not reported
    await control.reportJobProgress(job.id, { peerId: p2, state: 'succeeded', contentsDone: 2, contentsTotal: 2, bytesDone: 200 })
    const done = await control.getJob(job.id)
    expect(done.state).toBe('succeeded')
    expect(done.nodes[0]).toEqual({ peerId: p1, state: 'succeeded', contentsDone: 2, contentsTotal: 2, bytesDone: 200, error: '', updatedMs: T0 })

    clock += 10
    const second = (await control.createPreheatJob({ contentIds: [contentId()], role: 'edge' })).job
    await control.reportJobProgress(second.id, { peerId: peerId(), state: 'failed', contentsDone: 0, contentsTotal: 1, bytesDone: 0, error: 'no holder' })
    expect((await control.getJob(second.id)).state).toBe('failed')
    expect((await control.listJobs(10)).map(j => j.id)).toEqual([second.id, job.id])
    // expired jobs leave the list
    clock += 8 * 24 * 3600_000
    expect(await control.listJobs(10)).toEqual([])
  })

  it('refuses malformed jobs and reports', async () => {
    const cid = contentId()
    for (const req of [{ contentIds: [cid] }, { contentIds: [cid], role: 'edge', peerIds: [peerId()] }, { contentIds: [], role: 'edge' }, { contentIds: ['a b'], role: 'edge' }, { contentIds: [cid], peerIds: ['x y'] }]) {
      await expect(control.createPreheatJob(req)).rejects.toBeInstanceOf(InvalidRequestError)
    }
    await expect(control.getJob('nope')).rejects.toBeInstanceOf(JobNotFoundError)
    await expect(control.getJob('../../etc')).rejects.toBeInstanceOf(JobNotFoundError)
    const { job } = await control.createPreheatJob({ contentIds: [cid], peerIds: [peerId()] })
    await expect(control.reportJobProgress(job.id, { peerId: peerId(), state: 'running', contentsDone: 0, contentsTotal: 1, bytesDone: 0 })).rejects.toBeInstanceOf(InvalidRequestError)
    await expect(control.reportJobProgress(job.id, { peerId: job.peerIds[0], state: 'running', contentsDone: -1, contentsTotal: 1, bytesDone: 0 })).rejects.toBeInstanceOf(InvalidRequestError)
    await expect(control.reportJobProgress('nope', { peerId: peerId(), state: 'running', contentsDone: 0, contentsTotal: 1, bytesDone: 0 })).rejects.toBeInstanceOf(JobNotFoundError)
    await expect(control.listJobs(0)).rejects.toBeInstanceOf(InvalidRequestError)
  })
})

describe('control event helpers', () => {
  it('orders stream IDs numerically and skips entries it cannot read', () => {
    expect(compareEventIds('9-0', '10-0')).toBeLessThan(0)
    expect(compareEventIds('10-2', '10-10')).toBeLessThan(0)
    expect(compareEventIds('10-2', '10-2')).toBe(0)
    expect(compareEventIds('11-0', '10-99')).toBeGreaterThan(0)
    expect(decodeEvent(['1-0', ['t', 'purge', 'd', '{"contentId":"bafy"}']])).toEqual({ id: '1-0', kind: 'purge', contentId: 'bafy' })
    expect(decodeEvent(['1-0', ['t', 'reboot', 'd', '{}']])).toBeUndefined()
    expect(decodeEvent(['1-0', ['t', 'purge', 'd', 'not json']])).toBeUndefined()
    expect(decodeEvent(['1-0', ['t', 'preheat', 'd', '{"jobId":"j","contentIds":"x","role":"","peerIds":[]}']])).toBeUndefined()
  })

  it('aggregates job states as the proto says', () => {
    expect(jobState([])).toBe('pending')
    expect(jobState([{ state: 'pending' }, { state: 'running' }])).toBe('running')
    expect(jobState([{ state: 'succeeded' }, { state: 'pending' }])).toBe('running')
    expect(jobState([{ state: 'succeeded' }, { state: 'succeeded' }])).toBe('succeeded')
    expect(jobState([{ state: 'succeeded' }, { state: 'failed' }, { state: 'running' }])).toBe('failed')
  })

  it('names each error class after itself', () => {
    const classes = Object.entries(controlErrors).filter(([, v]) => typeof v === 'function') as Array<[string, new (m: string, c?: any) => Error]>
    expect(classes.map(([name]) => name).sort()).toEqual(['InvalidPublicKeyError', 'JobNotFoundError', 'VersionConflictError', 'WatchInterruptedError'])
    for (const [name, Cls] of classes) expect(new Cls('x', 0).name).toBe(name)
  })
})
