/**
 * `codio admin` end to end: the built CLI against a real local cluster (`codio cluster`: real
 * processes, their real admin APIs and the real tracker), found through `.codio/cluster.json`
 * in the working directory, as an operator would run it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fromJson } from '@bufbuild/protobuf'
import { GetPeerStatsResponseSchema, GetStatusResponseSchema } from '@codio/proto'
import type { ClusterProcess } from '../src/endpoints.js'
import { runCli, type CliResult } from './helpers.js'
import { alive, heldDownload, startLocalCluster, until, type LocalCluster } from './local-cluster.js'

/** A well-formed peer ID that no process of the cluster has. */
const PEER = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'

describe('codio admin against a local cluster', () => {
  let cluster: LocalCluster
  let cid: string
  let sample: Buffer
  const byName = (name: string): ClusterProcess => cluster.byName(name)
  const admin = async (args: string[]): Promise<CliResult> => await runCli(['admin', ...args], { cwd: cluster.dir })
  const out = (r: CliResult): string => r.stdout.toString('utf8')

  beforeAll(async () => {
    sample = randomBytes(24 * 1024 * 1024 + 12_345)
    cluster = await startLocalCluster({
      prefix: 'codio-cli-',
      prepare: async dir => await writeFile(join(dir, 'sample.bin'), sample),
      args: dir => ['--edges', '2', '--relays', '1', '--sample', join(dir, 'sample.bin'), '--log-level', 'warn'],
      ready: /sample content ID: (\S+)/,
      what: 'the cluster to publish its sample'
    })
    cid = cluster.sampleCid!
  }, 240_000)

  afterAll(async () => {
    await cluster?.stop()
  }, 60_000)

  it('status: the first edge of cluster.json by default, any process by name, as a table or protobuf JSON', async () => {
    const edge = await admin(['status'])
    expect(edge.stderr).toBe('')
    expect(out(edge)).toMatch(/^role:\s+edge$/m)
    expect(out(edge)).toMatch(new RegExp(`^peer:\\s+${byName('edge-1').peerId}$`, 'm'))
    const origin = await admin(['--admin', 'origin-1', 'status', '--json'])
    const status = fromJson(GetStatusResponseSchema, JSON.parse(out(origin)))
    expect(status.role).toBe('origin')
    expect(status.peerId).toBe(byName('origin-1').peerId)
    expect(status.storedBytes).toBeGreaterThanOrEqual(BigInt(sample.length))
  }, 30_000)

  it('content and peers: what a node holds and from whom it fetched it', async () => {
    expect(out(await admin(['--admin', 'origin-1', 'content'])).split('\n')).toContain(cid)
    const res = await fetch(`${byName('edge-1').http}/content/${cid}`)
    expect(Buffer.compare(Buffer.from(await res.arrayBuffer()), sample)).toBe(0)
    await until(async () => out(await admin(['content'])).includes(cid), 30_000, 'edge-1 to hold the content')

    const peers = fromJson(GetPeerStatsResponseSchema, JSON.parse(out(await admin(['peers', '--json']))))
    const received = peers.peers.reduce((n, p) => n + p.bytesReceived, 0n)
    expect(received).toBeGreaterThanOrEqual(BigInt(sample.length))
    const table = out(await admin(['peers'])).trimEnd().split('\n')
    expect(table[0]).toMatch(/^PEER\s+RECEIVED\s+SENT\s+DOWN\s+UP\s+CHOKED\s+INTERESTED\s+FAILURES$/)
    const busiest = peers.peers.reduce((a, b) => b.bytesReceived > a.bytesReceived ? b : a)
    expect(table).toContainEqual(expect.stringMatching(new RegExp(`^${busiest.peerId}\\s+\\d+\\.\\d\\d [kM]B \\(${busiest.chunksReceived}\\)`)))
  }, 60_000)

  it('config: a live node update, a restart key refused, bad keys all named, a runtime value dropped', async () => {
    const set = await admin(['config', 'set', 'swarm.maxUploadRate=10MB', 'fetch.streamingWindow=16'])
    expect(set.stderr).toBe('')
    expect(out(set)).toMatch(/^fetch\.streamingWindow\s+16$/m)
    expect(out(set)).toMatch(/^swarm\.maxUploadRate\s+10000000$/m)
    const row = async (key: string): Promise<string> => out(await admin(['config', 'get', key])).trimEnd().split('\n')[1]
    expect(await row('swarm.maxUploadRate')).toMatch(/^swarm\.maxUploadRate\s+10000000\s+runtime\s+yes$/)

    const restart = await admin(['config', 'set', 'http.port=8081'])
    expect(restart.code).toBe(1)
    expect(restart.stderr).toMatch(/^codio admin config set: failed_precondition: .*http\.port/)
    const bad = await admin(['config', 'set', 'swarm.bogus=1', 'fetch.nope=2', 'fetch.streamingWindow="many"'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/^codio admin config set: invalid_argument: /)
    for (const key of ['swarm.bogus', 'fetch.nope', 'fetch.streamingWindow']) expect(bad.stderr).toContain(key)
    expect(await row('fetch.streamingWindow')).toMatch(/^fetch\.streamingWindow\s+16\s+runtime\s+yes$/)

    expect((await admin(['config', 'set', 'swarm.maxUploadRate='])).code).toBe(0)
    expect(await row('swarm.maxUploadRate')).toMatch(/^swarm\.maxUploadRate\s+0\s+default\s+yes$/)
  }, 60_000)

  it('config --cluster: one call reaches every edge and no relay; dropping the key undoes it', async () => {
    const set = await admin(['config', 'set', '--cluster', '--role', 'edge', 'swarm.maxDownloadRate=50MB'])
    expect(set.stderr).toBe('')
    expect(out(set)).toMatch(/^cluster configuration of edge: version \d+/)
    const source = async (name: string): Promise<{ value: unknown, source?: string }> => {
      const res = JSON.parse(out(await admin(['--admin', name, 'config', 'get', 'swarm.maxDownloadRate', '--json'])))
      return { value: res.config.swarm.maxDownloadRate, source: res.sources[0]?.source }
    }
    for (const edge of ['edge-1', 'edge-2']) await until(async () => (await source(edge)).source === 'cluster', 15_000, `${edge} to apply the cluster document`)
    expect(await source('edge-1')).toEqual({ value: 50_000_000, source: 'cluster' })
    expect((await source('relay-1')).source).toBe('default')
    const doc = JSON.parse(out(await admin(['config', 'get', '--cluster', '--role', 'edge', '--json'])))
    expect(doc.config.config).toEqual({ swarm: { maxDownloadRate: '50MB' } })

    expect((await admin(['config', 'set', '--cluster', '--role', 'edge', 'swarm.maxDownloadRate='])).code).toBe(0)
    for (const edge of ['edge-1', 'edge-2']) await until(async () => (await source(edge)).source === 'default', 15_000, `${edge} to drop the cluster value`)
  }, 60_000)

  it('bans: node-local and fleet-wide, listed and lifted', async () => {
    expect(out(await admin(['ban', PEER, '--reason', 'leech', '--duration', '1h']))).toMatch(new RegExp(`^banned ${PEER} for 60m00s; \\d+ connections? closed$`, 'm'))
    expect(out(await admin(['bans'])).trimEnd().split('\n')[1]).toMatch(new RegExp(`^${PEER}\\s+node\\s+leech\\s+\\S+Z\\s+in (59|60)m\\d\\ds$`))
    expect(out(await admin(['unban', PEER]))).toBe(`unbanned ${PEER}\n`)
    expect(out(await admin(['bans']))).toBe('no bans\n')

    expect((await admin(['ban', PEER, '--cluster', '--reason', 'fleet'])).code).toBe(0)
    expect(out(await admin(['bans', '--cluster']))).toMatch(new RegExp(`^${PEER}\\s+cluster\\s+fleet\\s+\\S+Z\\s+never$`, 'm'))
    await until(async () => out(await admin(['--admin', 'edge-2', 'bans'])).includes(PEER), 15_000, 'edge-2 to apply the fleet ban')
    expect(out(await admin(['unban', PEER, '--cluster']))).toBe(`unbanned ${PEER}\n`)
    await until(async () => out(await admin(['--admin', 'edge-2', 'bans'])) === 'no bans\n', 15_000, 'edge-2 to lift the fleet ban')
  }, 60_000)

  it('keys: a fleet-wide trust and revocation reach the edges', async () => {
    // one base64url key in 64 begins with "-" (as in a failed CI run): this test always takes
    // such a key, which is only an argument after "--", never an (unknown) option
    let key: string
    do key = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!
    while (!key.startsWith('-'))
    const trust = await admin(['trust', '--cluster', '--', key])
    expect(trust.stderr).toBe('')
    expect(out(trust)).toBe(`trusted ${key} on every node\n`)
    await until(async () => new RegExp(`^${key}\\s+trusted\\s+cluster$`, 'm').test(out(await admin(['keys']))), 15_000, 'edge-1 to trust the key')
    const revoke = await admin(['revoke', '--cluster', '--', key])
    expect(revoke.stderr).toBe('')
    expect(out(revoke)).toBe(`revoked ${key} on every node\n`)
    await until(async () => new RegExp(`^${key}\\s+revoked\\s+cluster$`, 'm').test(out(await admin(['--admin', 'edge-2', 'keys']))), 15_000, 'edge-2 to revoke the key')
    const fleet = JSON.parse(out(await admin(['keys', '--cluster', '--json'])))
    expect(fleet.revoked).toContain(key)
    expect(fleet.trusted ?? []).not.toContain(key)
    const bad = await admin(['trust', 'not-a-key'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/^codio admin trust: invalid_argument: /)
  }, 60_000)

  it('preheat --wait fills the relay through a tracker job; jobs shows it; purge empties the relay again', async () => {
    const r = await admin(['preheat', cid, '--role', 'relay', '--wait'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(out(r)).toMatch(/^state:\s+succeeded$/m)
    expect(out(r)).toMatch(new RegExp(`^${byName('relay-1').peerId}\\s+succeeded\\s+1/1\\s+25\\.18 MB`, 'm'))
    const id = /^job:\s+(\S+)$/m.exec(out(r))![1]
    expect(out(await admin(['jobs'])).trimEnd().split('\n')[1]).toMatch(new RegExp(`^${id}\\s+preheat\\s+succeeded\\s+1\\s+every relay\\s+1/1\\s+`))
    expect(JSON.parse(out(await admin(['jobs', id, '--json']))).job.state).toBe('JOB_STATE_SUCCEEDED')
    expect(out(await admin(['--admin', 'relay-1', 'content'])).split('\n')).toContain(cid)

    const purge = await admin(['--admin', 'relay-1', 'purge', cid])
    expect(out(purge)).toMatch(new RegExp(`^purged ${cid}: \\d+ chunks removed, \\d+\\.\\d\\d MB freed$`, 'm'))
    expect(out(await admin(['--admin', 'relay-1', 'content'])).split('\n')).not.toContain(cid)
    expect(out(await admin(['--admin', 'relay-1', 'purge', cid]))).toBe(`${cid} was not held here: nothing to purge\n`)
  }, 90_000)

  it('drain: the edge says how many requests are in flight, serves them to the end, then exits 0', async () => {
    const edge = byName('edge-2')
    // a client that holds back after the first bytes: the request stays in flight
    const download = await heldDownload(`${edge.http}/content/${cid}`)
    expect(download.status).toBe(200)
    const r = await admin(['--admin', 'edge-2', 'drain', '--timeout', '30s'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(out(r)).toBe('draining: 1 request in flight; the node exits once they are served (at most 30s)\n')
    // the draining edge serves it to its last byte
    expect(Buffer.compare(await download.finish(), sample)).toBe(0)
    await until(() => !alive(edge.pid), 15_000, 'the drained edge to exit')
    await until(() => cluster.output().includes('edge-2 exited (0): drained'), 5_000, 'its exit code, 0')
    const gone = await admin(['--admin', 'edge-2', 'status'])
    expect(gone.code).toBe(1)
    expect(gone.stderr).toMatch(/^codio admin status: unavailable: .*is a Codio process listening at http:\/\/127\.0\.0\.1:\d+\?\)\n$/)
  }, 60_000)
})
