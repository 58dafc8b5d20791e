/**
 * `codio admin` on the wire: the built CLI (a child process) against real ConnectRPC servers
 * started here. The node side is the real `adminRoutes` over a backend that records what
 * reaches it; the tracker side implements part of `ControlService`, so the rest answers
 * Unimplemented. An interceptor records every request's headers and refuses a wrong token.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fromJson, type JsonObject } from '@bufbuild/protobuf'
import { adminRoutes, startAdminServer, type AdminBackend, type AdminServer } from '@codio/admin'
import { Auth, TokenSet } from '@codio/auth'
import { createLogger } from '@codio/telemetry'
import { control, ControlService, GetConfigResponseSchema, GetStatusResponseSchema, UpdateConfigResponseSchema } from '@codio/proto'
import { Code, ConnectError, type ConnectRouter, type Interceptor } from '@connectrpc/connect'
import { connectNodeAdapter } from '@connectrpc/connect-node'
import { runCli, tempDir, type CliResult, type TempDir } from './helpers.js'

const TOKEN = 'adm-7f3a9c01e2b4d5'
const PEER = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
const CID = 'bafyreiaxnnnb7qz2focittuqq3ya25q7rcv3bqynnczfzao3hlpxv4s6ty'

interface Seen { procedure: string, authorization: string | null, message: unknown }

/** A real ConnectRPC server on 127.0.0.1 (port 0: it lives in this process). */
async function serve (routes: (router: ConnectRouter) => void, seen: Seen[], token?: string): Promise<{ url: string, server: Server }> {
  const record: Interceptor = next => async req => {
    seen.push({ procedure: new URL(req.url, 'http://x').pathname, authorization: req.header.get('authorization'), message: req.message })
    if (token != null && req.header.get('authorization') !== `Bearer ${token}`) throw new ConnectError('no valid bearer token', Code.Unauthenticated)
    return await next(req)
  }
  const server = createServer(connectNodeAdapter({ routes, interceptors: [record] }))
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

const CONFIG: JsonObject = { swarm: { maxUploadRate: '10MB', unchokeSlots: 4 }, fetch: { streamingWindow: 8 }, logLevel: 'info', auth: { tokenFile: '[redacted]' } }

/** A node backend without purge (Unimplemented) whose updateConfig applies to CONFIG's copy. */
function backend (): AdminBackend {
  let config = structuredClone(CONFIG)
  return {
    status: async () => ({ role: 'edge', peerId: PEER, multiaddrs: ['/ip4/127.0.0.1/tcp/4001'], connectedPeers: 3, storedBlocks: 42, storedBytes: 12_582_912, contents: 2, uptimeSeconds: 65, version: '0.1.0', chunksRebuilt: 1, parityChunksFetched: 2, fecGroupsRepaired: 1 }),
    peerStats: async () => [{ peerId: PEER, chunksReceived: 12n, bytesReceived: 12_582_912n, chunksSent: 3n, bytesSent: 3_145_728n, failures: 0n, verificationFailures: 0n, uploadRate: 1_500_000, downloadRate: 250, choked: false, interested: true }],
    prefetch: async () => { throw new Error('not in this test') },
    listContent: async () => [CID],
    getConfig: async () => ({
      config,
      sources: [
        { path: 'auth.tokenFile', source: 'file', live: false, redacted: true },
        { path: 'fetch.streamingWindow', source: 'default', live: true, redacted: false },
        { path: 'logLevel', source: 'env', live: true, redacted: false },
        { path: 'swarm.maxUploadRate', source: 'runtime', live: true, redacted: false },
        { path: 'swarm.unchokeSlots', source: 'cluster', live: true, redacted: false }
      ]
    }),
    updateConfig: async (doc, mask) => {
      config = { ...config, swarm: { ...(config.swarm as JsonObject), ...(doc.swarm as JsonObject) } }
      return { changed: mask.filter(p => p.startsWith('swarm.')), config }
    },
    banPeer: async () => ({ connectionsClosed: 2 }),
    revokeKey: async () => ({ purgedContentIds: [] }),
    listBans: async () => [{ peerId: PEER, reason: 'leech', createdMs: 1_700_000_000_000, expiresMs: 0, scope: 'node' }]
  }
}

const JOB = { id: 'job-1', type: 'preheat', contentIds: [CID], role: '', peerIds: [PEER], state: control.JobState.RUNNING, createdMs: 1_700_000_000_000n, nodes: [{ peerId: PEER, state: control.JobState.RUNNING, contentsDone: 0, contentsTotal: 1, bytesDone: 1_048_576n, error: '', updatedMs: 1_700_000_001_000n }] }

/**
 * Part of ControlService: config, bans and jobs; the rest is Unimplemented. A created job is
 * pending, running at its first GetJob, then done: failed when it targets relays, else succeeded.
 */
function controlRoutes (router: ConnectRouter): void {
  const created = new Map<string, { job: control.Job | typeof JOB, polls: number }>()
  router.service(ControlService, {
    updateClusterConfig: async req => ({ config: { role: req.role, version: 7n, config: req.config, updatedMs: 1_700_000_000_000n } }),
    banPeer: async () => ({}),
    trustKey: async () => ({}),
    createPreheatJob: async req => {
      const job = { ...JOB, id: `job-${created.size + 2}`, contentIds: req.contentIds, role: req.role, peerIds: req.peerIds, state: control.JobState.PENDING, nodes: [] }
      created.set(job.id, { job, polls: 0 })
      return { job }
    },
    getJob: async req => {
      const c = created.get(req.id)
      if (c == null && req.id !== JOB.id) throw new ConnectError(`no job ${req.id}`, Code.NotFound)
      if (c == null) return { job: JOB }
      c.polls++
      const failed = c.job.role === 'relay'
      const state = c.polls === 1 ? control.JobState.RUNNING : failed ? control.JobState.FAILED : control.JobState.SUCCEEDED
      const node = { ...JOB.nodes[0], state, contentsDone: state === control.JobState.SUCCEEDED ? 1 : 0, error: state === control.JobState.FAILED ? 'content not found' : '' }
      return { job: { ...c.job, state, nodes: [node] } }
    },
    listJobs: async () => ({ jobs: [JOB] })
  })
}

describe('codio admin against real ConnectRPC servers', () => {
  let tmp: TempDir
  let node: { url: string, server: Server }
  let tracker: { url: string, server: Server }
  let open: { url: string, server: Server }
  const nodeSeen: Seen[] = []
  const trackerSeen: Seen[] = []
  const openSeen: Seen[] = []
  let tokenFile: string

  beforeAll(async () => {
    tmp = await tempDir()
    tokenFile = join(tmp.path, 'admin.token')
    // a file mid-rotation: a comment, the current token first, the old one after it
    await writeFile(tokenFile, `# admin token\n${TOKEN}\nold-admin-token-0000000\n`)
    node = await serve(adminRoutes(backend()), nodeSeen, TOKEN)
    tracker = await serve(controlRoutes, trackerSeen, TOKEN)
    open = await serve(adminRoutes(backend()), openSeen)
  })
  afterAll(async () => {
    for (const s of [node, tracker, open]) {
      s.server.closeAllConnections()
      await new Promise(resolve => s.server.close(resolve))
    }
    await tmp.remove()
  })

  /** The CLI in an empty directory (no cluster.json), with the token and both URLs given. */
  const admin = async (args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
    await runCli(['admin', '--admin', node.url, '--tracker', tracker.url, '--token-file', tokenFile, ...args], { cwd: tmp.path, env })
  const out = (r: CliResult): string => r.stdout.toString('utf8')

  it('config set: several KEY=VALUE pairs are ONE UpdateConfig with the nested document and its mask', async () => {
    const before = nodeSeen.length
    const r = await admin(['config', 'set', 'swarm.maxUploadRate=10MB', 'swarm.unchokeSlots=6', 'fetch.streamingWindow=', 'trust.publisherKeys=["a","b"]', 'fetch.timeout="30s"'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const calls = nodeSeen.slice(before)
    expect(calls.map(c => c.procedure)).toEqual(['/codio.admin.v1.AdminService/UpdateConfig'])
    const req = calls[0].message as { config: JsonObject, updateMask: string[] }
    expect(req.config).toEqual({ swarm: { maxUploadRate: '10MB', unchokeSlots: 6 }, trust: { publisherKeys: ['a', 'b'] }, fetch: { timeout: '30s' } })
    expect(req.updateMask).toEqual(['swarm.maxUploadRate', 'swarm.unchokeSlots', 'fetch.streamingWindow', 'trust.publisherKeys', 'fetch.timeout'])
    // the table: what changed and its effective value now
    expect(out(r).split('\n')[0]).toMatch(/^CHANGED\s+VALUE$/)
    expect(out(r)).toMatch(/^swarm\.maxUploadRate\s+10MB$/m)
    expect(out(r)).toMatch(/^swarm\.unchokeSlots\s+6$/m)
  })

  it('config set --json prints the UpdateConfigResponse as protobuf JSON', async () => {
    const r = await admin(['--json', 'config', 'set', 'swarm.maxUploadRate=2MB'])
    expect(r.code).toBe(0)
    const res = fromJson(UpdateConfigResponseSchema, JSON.parse(out(r)))
    expect(res.changed).toEqual(['swarm.maxUploadRate'])
    expect((res.config?.swarm as JsonObject).maxUploadRate).toBe('2MB')
  })

  it('config set --cluster --role edge is one UpdateClusterConfig at the tracker', async () => {
    const before = trackerSeen.length
    const r = await admin(['config', 'set', '--cluster', '--role', 'edge', '--expected-version', '6', 'swarm.maxUploadRate=10MB', 'logLevel=debug'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const calls = trackerSeen.slice(before)
    expect(calls.map(c => c.procedure)).toEqual(['/codio.tracker.v1.ControlService/UpdateClusterConfig'])
    expect(calls[0].message).toMatchObject({ role: 'edge', config: { swarm: { maxUploadRate: '10MB' }, logLevel: 'debug' }, updateMask: ['swarm.maxUploadRate', 'logLevel'], expectedVersion: 6n })
    expect(out(r)).toContain('cluster configuration of edge: version 7')
    expect(out(r)).toMatch(/^swarm\.maxUploadRate\s+10MB$/m)
  })

  it('config get prints every setting with its value, source and liveness; KEY narrows it', async () => {
    // the node's values now include what the config set tests above changed
    const all = await admin(['config', 'get'])
    expect(all.code).toBe(0)
    const lines = out(all).trimEnd().split('\n')
    expect(lines[0]).toMatch(/^PATH\s+VALUE\s+SOURCE\s+LIVE$/)
    expect(lines).toContainEqual(expect.stringMatching(/^auth\.tokenFile\s+\[redacted\]\s+file\s+no$/))
    expect(lines).toContainEqual(expect.stringMatching(/^swarm\.unchokeSlots\s+6\s+cluster\s+yes$/))
    expect(lines).toHaveLength(6)

    const one = await admin(['config', 'get', 'fetch.streamingWindow'])
    expect(out(one).trimEnd().split('\n')).toEqual([expect.stringMatching(/^PATH/), expect.stringMatching(/^fetch\.streamingWindow\s+8\s+default\s+yes$/)])

    const json = await admin(['--json', 'config', 'get', 'swarm'])
    const res = fromJson(GetConfigResponseSchema, JSON.parse(out(json)))
    expect(res.config).toEqual({ swarm: { maxUploadRate: '2MB', unchokeSlots: 6 } })
    expect(res.sources.map(s => s.path)).toEqual(['swarm.maxUploadRate', 'swarm.unchokeSlots'])

    const none = await admin(['config', 'get', 'swarm.nope'])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('no setting or section "swarm.nope"')
  })

  it('sends the (first) token from --token-file, or from $CODIO_TOKEN_FILE, as a bearer token', async () => {
    const before = nodeSeen.length
    expect((await admin(['status'])).code).toBe(0)
    const viaEnv = await runCli(['admin', 'status', '--admin', node.url], { cwd: tmp.path, env: { CODIO_TOKEN_FILE: tokenFile } })
    expect(viaEnv.code).toBe(0)
    expect(nodeSeen.slice(before).map(c => c.authorization)).toEqual([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`])
    // and none at all without a token file
    await runCli(['admin', 'status', '--admin', open.url], { cwd: tmp.path })
    expect(openSeen.at(-1)?.authorization).toBeNull()
  })

  it('status, peers and content: tables for people, protobuf JSON with --json', async () => {
    const status = await admin(['status'])
    expect(out(status)).toMatch(/^role:\s+edge$/m)
    expect(out(status)).toMatch(/^stored:\s+12\.58 MB in 42 blocks$/m)
    expect(out(status)).toMatch(/^uptime:\s+1m05s$/m)
    const json = fromJson(GetStatusResponseSchema, JSON.parse(out(await admin(['status', '--json']))))
    expect(json.storedBytes).toBe(12_582_912n)
    expect(json.peerId).toBe(PEER)

    const peers = out(await admin(['peers'])).trimEnd().split('\n')
    expect(peers[0]).toMatch(/^PEER\s+RECEIVED\s+SENT\s+DOWN\s+UP\s+CHOKED\s+INTERESTED\s+FAILURES$/)
    expect(peers[1]).toMatch(new RegExp(`^${PEER}\\s+12\\.58 MB \\(12\\)\\s+3\\.15 MB \\(3\\)\\s+250 B/s\\s+1\\.50 MB/s\\s+no\\s+yes\\s+0$`))

    expect(out(await admin(['content']))).toBe(`${CID}\n`)
    expect(JSON.parse(out(await admin(['content', '--json'])))).toEqual({ contentIds: [CID] })
  })

  it('ban sends the reason and the duration in seconds; bans lists them', async () => {
    const before = nodeSeen.length
    const r = await admin(['ban', PEER, '--reason', 'leech', '--duration', '1h30m'])
    expect(r.code).toBe(0)
    expect(nodeSeen[before].message).toMatchObject({ peerId: PEER, reason: 'leech', durationSeconds: 5400 })
    expect(out(r)).toContain('2 connections closed')
    const bans = out(await admin(['bans'])).trimEnd().split('\n')
    expect(bans[1]).toMatch(new RegExp(`^${PEER}\\s+node\\s+leech\\s+2023-11-14T22:13:20Z\\s+never$`))
  })

  it('preheat creates a job at the tracker and prints it; jobs lists and shows jobs', async () => {
    const before = trackerSeen.length
    const r = await admin(['preheat', CID, '--peer', PEER])
    expect(r.stderr).toBe('')
    expect(trackerSeen[before].message).toMatchObject({ contentIds: [CID], role: '', peerIds: [PEER] })
    expect(out(r)).toMatch(/^job:\s+job-2$/m)
    expect(out(r)).toMatch(/^state:\s+pending$/m)
    const byRole = await admin(['preheat', CID, CID])
    expect(trackerSeen.at(-1)?.message).toMatchObject({ contentIds: [CID, CID], role: 'edge', peerIds: [] })
    expect(byRole.code).toBe(0)

    const list = out(await admin(['jobs'])).trimEnd().split('\n')
    expect(list[0]).toMatch(/^ID\s+TYPE\s+STATE\s+CONTENTS\s+TARGET\s+NODES DONE\s+CREATED$/)
    expect(list[1]).toMatch(/^job-1\s+preheat\s+running\s+1\s+1 peer\s+0\/1\s+2023-11-14T22:13:20Z$/)
    const one = out(await admin(['jobs', 'job-1']))
    expect(one).toMatch(new RegExp(`^${PEER}\\s+running\\s+0/1\\s+1\\.05 MB\\s+2023-11-14T22:13:21Z$`, 'm'))
    const json = JSON.parse(out(await admin(['jobs', 'job-1', '--json'])))
    expect(json.job.state).toBe('JOB_STATE_RUNNING')

    const missing = await admin(['jobs', 'job-404'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toBe('codio admin jobs: not_found: no job job-404\n')
  })

  it('preheat --wait follows the job to its end; a failed job exits 1', async () => {
    const ok = await admin(['preheat', CID, '--wait'])
    expect(ok.stderr).toBe('')
    expect(ok.code).toBe(0)
    expect(out(ok)).toMatch(/^state:\s+succeeded$/m)
    expect(out(ok)).toMatch(new RegExp(`^${PEER}\\s+succeeded\\s+1/1`, 'm'))
    const failed = await admin(['preheat', CID, '--role', 'relay', '--wait', '--json'])
    expect(failed.code).toBe(1)
    expect(JSON.parse(out(failed)).job.nodes[0]).toMatchObject({ state: 'JOB_STATE_FAILED', error: 'content not found' })
    expect(failed.stderr).toMatch(/^codio admin preheat: job job-\d+ failed on 1 node\(s\)\n$/)
  })

  it('prints Unimplemented clearly, with exit 1: a call the node lacks, a service the server lacks', async () => {
    const purge = await admin(['purge', CID])
    expect(purge.code).toBe(1)
    expect(purge.stderr).toBe(`codio admin purge: unimplemented: this process does not implement purge (${node.url}/codio.admin.v1.AdminService/Purge does not serve this call (yet))\n`)
    expect(purge.stdout.length).toBe(0)
    const cluster = await admin(['purge', CID, '--cluster'])
    expect(cluster.code).toBe(1)
    expect(cluster.stderr).toMatch(/^codio admin purge: unimplemented: .*ControlService\/Purge does not serve this call \(yet\)\)\n$/)
    // a node's admin URL given as the tracker: no ControlService there at all
    const wrong = await runCli(['admin', '--tracker', open.url, 'jobs'], { cwd: tmp.path })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/^codio admin jobs: unimplemented: .*ListJobs does not serve this call \(yet\)\)\n$/)
  })

  it('prints Unauthenticated with a hint about --token-file, with exit 1', async () => {
    const r = await runCli(['admin', 'status', '--admin', node.url], { cwd: tmp.path })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('codio admin status: unauthenticated: no valid bearer token (pass --token-file FILE or set CODIO_TOKEN_FILE to a file holding a token the server accepts)\n')
    const wrongToken = join(tmp.path, 'wrong.token')
    await writeFile(wrongToken, '# rotated out\nnot-the-admin-token-0001\n')
    const w = await runCli(['admin', 'bans', '--admin', node.url, '--token-file', wrongToken], { cwd: tmp.path })
    expect(w.code).toBe(1)
    expect(w.stderr).toMatch(/^codio admin bans: unauthenticated: /)
    const missing = await runCli(['admin', 'bans', '--admin', node.url, '--token-file', join(tmp.path, 'absent')], { cwd: tmp.path })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(new RegExp(`^codio admin bans: cannot read the token file ${join(tmp.path, 'absent')}: .*ENOENT.*\\n$`))
  })

  it('exits 2 on usage errors, before any call', async () => {
    const before = nodeSeen.length + trackerSeen.length
    const cases: Array<[string[], RegExp]> = [
      [['config', 'set', 'swarm.maxUploadRate'], /"swarm\.maxUploadRate": expected KEY=VALUE/],
      [['config', 'set', 'a.b=1', 'a.b=2'], /"a\.b" given twice/],
      [['config', 'set', 'swarm=1', 'swarm.x=2'], /"swarm\.x" and "swarm" overlap/],
      [['config', 'set', '--role', 'edge', 'a=1'], /--role needs --cluster/],
      [['config', 'set', '--cluster', 'a=1'], /--cluster needs --role/],
      [['config', 'set', '--cluster', '--role', 'tracker', 'a=1'], /expected one of edge, relay, origin/],
      [['config', 'set'], /missing required argument/],
      [['ban', PEER, '--duration', '1y'], /expected a duration/],
      [['preheat', CID, '--role', 'edge', '--peer', PEER], /--role and --peer are exclusive/],
      [['nosuch'], /unknown command/],
      [['status', '--bogus'], /unknown option/]
    ]
    for (const [args, message] of cases) {
      const r = await admin(args)
      expect({ args, code: r.code }).toEqual({ args, code: 2 })
      expect(r.stderr).toMatch(message)
    }
    expect(nodeSeen.length + trackerSeen.length).toBe(before)
  }, 180_000)

  it('trust and revoke take a key that begins with "-" after "--", and say so when it comes without', async () => {
    const key = '-4Loql2VYCiPrmQTaCGe5LwZcmhJzgq2TDeLI5gYZ-o'
    const before = nodeSeen.length + trackerSeen.length
    const bare = await admin(['trust', key, '--cluster'])
    expect(bare.code).toBe(2)
    expect(bare.stderr).toBe(`error: unknown option '${key}'\n(a key that begins with "-" goes after "--": codio admin trust [--cluster] -- <key>)\n`)
    expect(nodeSeen.length + trackerSeen.length).toBe(before)

    const trust = await admin(['trust', '--cluster', '--', key])
    expect(trust.stderr).toBe('')
    expect(out(trust)).toBe(`trusted ${key} on every node\n`)
    expect(trackerSeen.at(-1)).toMatchObject({ procedure: '/codio.tracker.v1.ControlService/TrustKey', message: { publicKey: key } })
    const revoke = await admin(['revoke', '--', key])
    expect(revoke.stderr).toBe('')
    expect(out(revoke)).toBe(`revoked ${key}; 0 contents purged\n`)
    expect(nodeSeen.at(-1)).toMatchObject({ procedure: '/codio.admin.v1.AdminService/RevokeKey', message: { publicKey: key } })
  })

  it('finds the admin and tracker URLs in .codio/cluster.json, and a process by name', async () => {
    const cwd = join(tmp.path, 'with-cluster')
    await mkdir(join(cwd, '.codio'), { recursive: true })
    const proc = (role: string, name: string, admin: string): unknown => ({ role, name, pid: 1, http: 'http://127.0.0.1:9', admin, peerId: PEER, multiaddrs: [] })
    await writeFile(join(cwd, '.codio', 'cluster.json'), JSON.stringify({
      processes: [proc('relay', 'relay-1', 'http://127.0.0.1:9'), proc('edge', 'edge-1', open.url), proc('edge', 'edge-2', node.url)],
      tracker: { pid: 1, http: 'http://127.0.0.1:9', rpc: tracker.url, nats: 'nats://127.0.0.1:4222', redis: 'redis://127.0.0.1:6379' }
    }))
    const before = openSeen.length
    expect((await runCli(['admin', 'content'], { cwd })).code).toBe(0)
    expect(openSeen.length).toBe(before + 1)
    const named = await runCli(['admin', '--admin', 'edge-2', '--token-file', tokenFile, 'content'], { cwd })
    expect(named.code).toBe(0)
    expect(nodeSeen.at(-1)?.procedure).toBe('/codio.admin.v1.AdminService/ListContent')
    const jobs = await runCli(['admin', 'jobs', '--token-file', tokenFile], { cwd })
    expect(jobs.code).toBe(0)
    expect(trackerSeen.at(-1)?.procedure).toBe('/codio.tracker.v1.ControlService/ListJobs')
    const env = await runCli(['admin', 'content'], { cwd, env: { CODIO_ADMIN: node.url, CODIO_TOKEN_FILE: tokenFile } })
    expect(env.code).toBe(0)
    const unknown = await runCli(['admin', '--admin', 'edge-9', 'content'], { cwd })
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('no process named "edge-9"')
    const none = await runCli(['admin', 'jobs'], { cwd: tmp.path })
    expect(none.code).toBe(1)
    expect(none.stderr).toBe('codio admin jobs: no tracker URL (.codio/cluster.json not found): start the cluster with `npm start`, pass --tracker URL, or set CODIO_TRACKER\n')
  })
})

describe('codio admin against the real admin server with tokens (read and admin scopes)', () => {
  const READ = 'read-token-5b1e0c77d2'
  const ADMIN = 'admin-token-9e44a1f0c3'
  let tmp: TempDir
  let server: AdminServer
  const files: Record<string, string> = {}

  beforeAll(async () => {
    tmp = await tempDir()
    for (const [name, token] of Object.entries({ read: READ, admin: ADMIN, wrong: 'wrong-token-000000000' })) {
      files[name] = join(tmp.path, `${name}.token`)
      await writeFile(files[name], `${token}\n`)
    }
    const auth = Auth.withTokens(TokenSet.of({ read: [READ], admin: [ADMIN] }), { log: createLogger({ name: 'admin-test', level: 'silent' }) })
    server = await startAdminServer({ backend: backend(), auth })
  })
  afterAll(async () => {
    await server.close()
    await tmp.remove()
  })

  const as = async (who: string | undefined, args: string[]): Promise<CliResult> =>
    await runCli(['admin', '--admin', server.url, ...(who == null ? [] : ['--token-file', files[who]]), ...args], { cwd: tmp.path })

  it('a read token reads, an admin token changes, and every refusal is one clear line with exit 1', async () => {
    expect((await as('read', ['bans'])).code).toBe(0)
    expect((await as('admin', ['ban', PEER])).code).toBe(0)
    const denied = await as('read', ['ban', PEER])
    expect(denied.code).toBe(1)
    expect(denied.stderr).toMatch(/^codio admin ban: permission_denied: .*\(the token lacks the scope this call needs: admin for changes, read for queries\)\n$/)
    for (const who of [undefined, 'wrong']) {
      const refused = await as(who, ['status'])
      expect(refused.code).toBe(1)
      expect(refused.stderr).toMatch(/^codio admin status: unauthenticated: .*\(pass --token-file FILE or set CODIO_TOKEN_FILE to a file holding a token the server accepts\)\n$/)
    }
  })
})
