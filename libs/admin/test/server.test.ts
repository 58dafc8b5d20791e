/**
 * The admin library over real HTTP connections (createAdminClient → startAdminServer): every
 * AdminService call reaches its backend method with the request's values and answers with the
 * backend's, 64-bit counters as bigint; an optional method the backend lacks answers
 * Unimplemented; a domain error becomes the Connect code errors.ts gives it, anything else
 * Internal; a Prefetch whose client leaves is aborted in the backend.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Code, ConnectError } from '@connectrpc/connect'
import { until } from '@codio/testing'
import { createAdminClient, startAdminServer, type AdminBackend, type AdminServer } from '../src/index.js'

const named = (name: string, message = name): Error => Object.assign(new Error(message), { name })
const codeOf = async (p: Promise<unknown>): Promise<Code | 'ok'> => p.then(() => 'ok' as const, (e: unknown) => ConnectError.from(e).code)

const calls: Array<[string, ...unknown[]]> = []
let prefetchSignal: AbortSignal | undefined
const full: AdminBackend = {
  status: async () => ({ role: 'relay', peerId: 'p1', multiaddrs: ['/ip4/127.0.0.1/tcp/1'], connectedPeers: 3, storedBlocks: 2 ** 40, storedBytes: 2 ** 50, contents: 7, uptimeSeconds: 9, version: '1.2.3', chunksRebuilt: 5, parityChunksFetched: 6, fecGroupsRepaired: 2 }),
  peerStats: async () => [{ peerId: 'p2', chunksReceived: 10n, bytesReceived: 100n, chunksSent: 1n, bytesSent: 10n, failures: 0n, verificationFailures: 0n, uploadRate: 1.5, downloadRate: 2.5, choked: false, interested: true }],
  prefetch: async (cid, signal) => {
    calls.push(['prefetch', cid])
    if (cid === 'missing') throw named('ContentNotFoundError', `no provider has ${cid}`)
    if (cid === 'slow') {
      prefetchSignal = signal
      await new Promise((resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
    }
    if (cid === 'boom') throw new Error('disk on fire')
    return { contentId: cid, size: 2 ** 33, chunks: 8192, chunksFetched: 8000, seconds: 1.25 }
  },
  listContent: async () => ['a', 'b'],
  drain: async (ms) => { calls.push(['drain', ms]); return { inFlight: 4 } },
  getConfig: async () => ({ config: { swarm: { maxUploadRate: 1000 } }, sources: [{ path: 'swarm.maxUploadRate', source: 'runtime', live: true, redacted: false }] }),
  updateConfig: async (config, mask) => {
    calls.push(['updateConfig', config, mask])
    if (mask.includes('p2p.listen')) throw named('RestartRequiredError', 'p2p.listen needs a restart')
    if (mask.includes('nope')) throw named('ConfigError', 'nope: unknown key')
    return { changed: mask, config }
  },
  purge: async (cid) => { calls.push(['purge', cid]); return { held: true, chunksRemoved: 3, bytesFreed: 2 ** 35 } },
  banPeer: async (peerId, reason, s) => { calls.push(['banPeer', peerId, reason, s]); return { connectionsClosed: 2 } },
  unbanPeer: async (peerId) => { calls.push(['unbanPeer', peerId]); return { lifted: true } },
  listBans: async () => [{ peerId: 'bad', reason: 'lies', createdMs: 1_700_000_000_000, expiresMs: 0, scope: 'cluster' }],
  trustKey: async (key) => { calls.push(['trustKey', key]); if (key === 'short') throw named('InvalidPublicKeyError') },
  revokeKey: async (key) => { calls.push(['revokeKey', key]); return { purgedContentIds: ['x'] } },
  listKeys: async () => [{ publicKey: 'k', revoked: false, source: 'file' }]
}

describe('admin server and client, every call', () => {
  let server: AdminServer
  let bare: AdminServer
  beforeAll(async () => {
    server = await startAdminServer({ backend: full })
    // only what every process has
    bare = await startAdminServer({ backend: { status: full.status, peerStats: full.peerStats, prefetch: full.prefetch, listContent: full.listContent } })
  })
  afterAll(async () => {
    await server.close()
    await bare.close()
  })

  it('passes each request to its backend method and its answer back (64-bit counters as bigint)', async () => {
    const c = createAdminClient(server.url)
    calls.length = 0
    expect(await c.getStatus({})).toMatchObject({ role: 'relay', peerId: 'p1', storedBlocks: 2n ** 40n, storedBytes: 2n ** 50n, contents: 7, chunksRebuilt: 5n, parityChunksFetched: 6n, fecGroupsRepaired: 2n, version: '1.2.3' })
    expect((await c.getPeerStats({})).peers[0]).toMatchObject({ peerId: 'p2', chunksReceived: 10n, choked: false, interested: true, downloadRate: 2.5 })
    expect(await c.prefetch({ contentId: 'bafyok' })).toMatchObject({ contentId: 'bafyok', size: 2n ** 33n, chunks: 8192, chunksFetched: 8000 })
    expect((await c.listContent({})).contentIds).toEqual(['a', 'b'])
    expect(await c.drain({ timeoutSeconds: 7 })).toMatchObject({ inFlight: 4 })
    await c.drain({})
    expect((await c.getConfig({})).sources[0]).toMatchObject({ path: 'swarm.maxUploadRate', source: 'runtime', live: true })
    expect(await c.updateConfig({ config: { swarm: { maxUploadRate: '1MB' } }, updateMask: ['swarm.maxUploadRate'] })).toMatchObject({ changed: ['swarm.maxUploadRate'] })
    expect(await c.purge({ contentId: 'bafyx' })).toMatchObject({ held: true, chunksRemoved: 3, bytesFreed: 2n ** 35n })
    expect(await c.banPeer({ peerId: 'bad', reason: 'lies', durationSeconds: 60 })).toMatchObject({ connectionsClosed: 2 })
    expect(await c.unbanPeer({ peerId: 'bad' })).toMatchObject({ lifted: true })
    expect((await c.listBans({})).bans[0]).toMatchObject({ peerId: 'bad', createdMs: 1_700_000_000_000n, expiresMs: 0n })
    await c.trustKey({ publicKey: 'k' })
    expect((await c.revokeKey({ publicKey: 'k' })).purgedContentIds).toEqual(['x'])
    expect((await c.listKeys({})).keys[0]).toMatchObject({ publicKey: 'k', revoked: false, source: 'file' })
    expect(calls).toEqual([
      ['prefetch', 'bafyok'],
      ['drain', 7000],
      ['drain', 300_000], // no timeout: DEFAULT_DRAIN_TIMEOUT_MS
      ['updateConfig', { swarm: { maxUploadRate: '1MB' } }, ['swarm.maxUploadRate']],
      ['purge', 'bafyx'],
      ['banPeer', 'bad', 'lies', 60],
      ['unbanPeer', 'bad'],
      ['trustKey', 'k'],
      ['revokeKey', 'k']
    ])
  })

  it('answers Unimplemented for every optional call a backend lacks, and serves the rest', async () => {
    const c = createAdminClient(bare.url)
    const optional = {
      drain: c.drain({}),
      getConfig: c.getConfig({}),
      updateConfig: c.updateConfig({}),
      purge: c.purge({ contentId: 'x' }),
      banPeer: c.banPeer({ peerId: 'x' }),
      unbanPeer: c.unbanPeer({ peerId: 'x' }),
      listBans: c.listBans({}),
      trustKey: c.trustKey({ publicKey: 'x' }),
      revokeKey: c.revokeKey({ publicKey: 'x' }),
      listKeys: c.listKeys({})
    }
    for (const [name, p] of Object.entries(optional)) expect([name, await codeOf(p)]).toEqual([name, Code.Unimplemented])
    expect((await c.getStatus({})).role).toBe('relay')
  })

  it('maps domain errors to their codes and anything else to Internal, with the message', async () => {
    const c = createAdminClient(server.url)
    expect(await codeOf(c.prefetch({ contentId: 'missing' }))).toBe(Code.NotFound)
    expect(await codeOf(c.updateConfig({ updateMask: ['p2p.listen'] }))).toBe(Code.FailedPrecondition)
    expect(await codeOf(c.updateConfig({ updateMask: ['nope'] }))).toBe(Code.InvalidArgument)
    expect(await codeOf(c.trustKey({ publicKey: 'short' }))).toBe(Code.InvalidArgument)
    const err = await c.prefetch({ contentId: 'boom' }).catch((e: unknown) => ConnectError.from(e))
    expect(err).toBeInstanceOf(ConnectError)
    expect([(err as ConnectError).code, (err as ConnectError).rawMessage]).toEqual([Code.Internal, 'disk on fire'])
  })

  it('aborts a Prefetch in the backend when its client gives up', async () => {
    const c = createAdminClient(server.url)
    prefetchSignal = undefined
    const gone = new AbortController()
    const call = c.prefetch({ contentId: 'slow' }, { signal: gone.signal })
    await until(() => prefetchSignal != null, 5_000, 'the backend to start the prefetch')
    expect(prefetchSignal!.aborted).toBe(false)
    gone.abort()
    expect(await codeOf(call)).toBe(Code.Canceled)
    await until(() => prefetchSignal!.aborted, 5_000, 'the backend\'s signal to abort')
  })
})
