/**
 * End to end on a real local cluster, started the way the README starts it (`codio cluster`,
 * which `npm start` runs after building): real processes, real sockets, curl as the client.
 * The sample is the Node.js binary running the tests (> 64 MiB, written by nobody here).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash, randomBytes } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createAdminClient } from '@codio/admin'
import { parseByteSize } from '@codio/config'
import { TrackerClient } from '@codio/tracker'
import type { ClusterFile, ClusterProcess } from '../src/endpoints.js'
import { BIN } from './helpers.js'
import { alive, curl, exec, heldDownload, sha256File, startLocalCluster, until, type LocalCluster } from './local-cluster.js'

const sample = process.execPath

async function chunksBySource (proc: ClusterProcess): Promise<Map<string, number>> {
  const { peers } = await createAdminClient(proc.admin).getPeerStats({})
  return new Map(peers.filter(p => p.chunksReceived > 0n).map(p => [p.peerId, Number(p.chunksReceived)]))
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

describe('local cluster end to end', () => {
  let cluster: LocalCluster
  let dir: string
  let file: ClusterFile
  let cid: string
  let expected: string
  let sampleSize: number
  const byName = (name: string): ClusterProcess => cluster.byName(name)
  const output = (): string => cluster.output()

  beforeAll(async () => {
    expected = await sha256File(sample)
    sampleSize = (await stat(sample)).size
    cluster = await startLocalCluster({ prefix: 'codio-e2e-', args: () => ['--edges', '3', '--relays', '2'], ready: /sample content ID: (\S+)/, what: 'the cluster to publish its sample' })
    dir = cluster.dir
    file = cluster.file
    cid = cluster.sampleCid!
  }, 240_000)

  afterAll(async () => {
    await cluster?.stop()
  }, 60_000)

  it('runs every role as its own OS process and records them in cluster.json', () => {
    expect(file.processes.map(p => p.role).sort()).toEqual(['edge', 'edge', 'edge', 'origin', 'relay', 'relay'])
    expect(new Set(file.processes.map(p => p.pid)).size).toBe(6)
    for (const p of file.processes) {
      expect(alive(p.pid)).toBe(true)
      expect(p.multiaddrs.length).toBeGreaterThan(0)
    }
    expect(file.sample?.cid).toBe(cid)
    expect(output()).toContain(byName('edge-1').http)
  })

  it('serves the published file byte-exact through the first edge (curl)', async () => {
    const out = join(dir, 'edge-1.bin')
    await curl(['-f', '-o', out, `${byName('edge-1').http}/content/${cid}`])
    expect(await sha256File(out)).toBe(expected)
  }, 120_000)

  it('`codio get` fetches it byte-exact from a real edge (the first edge of cluster.json), and exits 1 with the edge\'s reason for an unknown content', async () => {
    const out = join(dir, 'codio-get.bin')
    const got = await exec(process.execPath, [BIN, 'get', cid, '-o', out, '--quiet'], { cwd: dir })
    expect(got.stdout).toBe('')
    expect(await sha256File(out)).toBe(expected)
    // to stdout, from an edge named on the command line
    const piped = await exec(process.execPath, [BIN, 'get', cid, '--quiet', '--edge', byName('edge-1').http], { cwd: dir, encoding: 'buffer', maxBuffer: 2 * sampleSize })
    expect(sha256(piped.stdout)).toBe(expected)
    const unknown = 'bafyreiaxnnnb7qz2focittuqq3ya25q7rcv3bqynnczfzao3hlpxv4s6ty'
    const failed = await exec(process.execPath, [BIN, 'get', unknown, '-o', join(dir, 'unknown.bin'), '--quiet'], { cwd: dir }).then(() => undefined, (e: { code: number, stderr: string }) => e)
    expect(failed?.code).toBe(1)
    expect(failed?.stderr).toMatch(/404|not found|no provider/i)
    await expect(stat(join(dir, 'unknown.bin'))).rejects.toThrow()
  }, 120_000)

  it('answers HEAD with the content headers', async () => {
    const res = await fetch(`${byName('edge-1').http}/content/${cid}`, { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe(String(sampleSize))
    expect(res.headers.get('etag')).toBe(`"${cid}"`)
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(res.headers.get('accept-ranges')).toBe('bytes')
    // the sample (the node binary) has no extension: the CLI publishes it as octet-stream
    expect(res.headers.get('content-type')).toBe('application/octet-stream')
  })

  it('serves the second edge with chunks from peers other than the origin', async () => {
    const edge1 = byName('edge-1')
    // edge-1 records the content once its download completes, then provides it
    await until(async () => (await createAdminClient(edge1.admin).listContent({})).contentIds.includes(cid), 30_000, 'edge-1 to hold the content')
    // … and gossips it: edge-2's lookup asks the tracker first, which then names edge-1
    const tracker = new TrackerClient({ baseUrl: file.tracker!.rpc })
    await until(async () => (await tracker.selectPeers(cid, 20)).some(p => p.peerId === edge1.peerId), 30_000, 'the tracker to name edge-1 as a holder')
    const out = join(dir, 'edge-2.bin')
    await curl(['-f', '-o', out, `${byName('edge-2').http}/content/${cid}`])
    expect(await sha256File(out)).toBe(expected)
    const sources = await chunksBySource(byName('edge-2'))
    const origin = byName('origin-1').peerId
    const fromOthers = [...sources].filter(([peer]) => peer !== origin).reduce((n, [, c]) => n + c, 0)
    expect(fromOthers).toBeGreaterThan(0)
    expect(sources.get(edge1.peerId) ?? 0).toBeGreaterThan(0)
    // and edge-1's Prometheus metrics count what it received and what it served to edge-2
    const metrics = await (await fetch(`${edge1.http}/metrics`)).text()
    // summed over its series (by peer_role)
    const value = (name: string): number => [...metrics.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0)
    // every chunk of the sample, at the chunk size the origin runs with
    const ingest = (await createAdminClient(byName('origin-1').admin).getConfig({})).config?.ingest as { chunkSize: number | string }
    const chunkSize = typeof ingest.chunkSize === 'number' ? ingest.chunkSize : parseByteSize(ingest.chunkSize)
    expect(value('codio_swarm_chunks_received_total')).toBeGreaterThanOrEqual(Math.ceil(sampleSize / chunkSize))
    // at least: an endgame duplicate edge-1 wrote may have been cancelled by edge-2
    expect(value('codio_swarm_chunks_sent_total')).toBeGreaterThanOrEqual(sources.get(edge1.peerId)!)
  }, 120_000)

  it('returns exactly the bytes of a byte range (206)', async () => {
    const stored0 = (await createAdminClient(byName('edge-3').admin).getStatus({})).storedBlocks
    const start = 5_000_123
    const end = 7_654_321
    const out = join(dir, 'range.bin')
    const { stdout } = await curl(['-f', '-r', `${start}-${end}`, '-o', out, '-w', '%{http_code}', `${byName('edge-3').http}/content/${cid}`])
    expect(String(stdout)).toBe('206')
    const got = await readFile(out)
    const want = (await readFile(sample)).subarray(start, end + 1)
    expect(got.length).toBe(end - start + 1)
    expect(Buffer.compare(got, want)).toBe(0)
    // a cold edge fetches only what the range needs: the manifest and chunks 4..7 (1 MiB chunks);
    // it may receive one twice (a hedged request), it stores each once
    const status = await createAdminClient(byName('edge-3').admin).getStatus({})
    expect(Number(status.storedBlocks - stored0)).toBe(1 + 4)
  }, 60_000)

  it('answers 304 to If-None-Match with the content ID', async () => {
    const res = await fetch(`${byName('edge-1').http}/content/${cid}`, { headers: { 'if-none-match': `"${cid}"` } })
    expect(res.status).toBe(304)
  })

  it('answers 400 to a malformed CID and 404 to unknown content within the lookup bound', async () => {
    const edge = byName('edge-1').http
    const bad = await fetch(`${edge}/content/not-a-cid`)
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: string }).error).toBe('InvalidCidError')
    const unknown = 'bafyreiaxnnnb7qz2focittuqq3ya25q7rcv3bqynnczfzao3hlpxv4s6ty'
    const t0 = Date.now()
    const missing = await fetch(`${edge}/content/${unknown}`)
    expect(missing.status).toBe(404)
    expect(Date.now() - t0).toBeLessThan(15_000)
  }, 30_000)

  it('a relay told to prefetch the content fetches all of it and then holds it', async () => {
    const relay = byName('relay-1')
    const admin = createAdminClient(relay.admin)
    const result = await admin.prefetch({ contentId: cid })
    expect(result.size).toBe(BigInt(sampleSize))
    expect(result.chunksFetched).toBe(result.chunks)
    expect((await admin.listContent({})).contentIds).toContain(cid)
    const status = await admin.getStatus({})
    expect(status.storedBytes).toBeGreaterThanOrEqual(BigInt(sampleSize))
  }, 120_000)

  it('runs the tracker: edges learn providers from it, and fall back to the DHT when its Redis is down', async () => {
    const tracker = file.tracker
    expect(tracker).toBeDefined()
    const lookups = async (edge: ClusterProcess, result: string): Promise<number> => {
      const text = await (await fetch(`${edge.http}/metrics`)).text()
      const m = new RegExp(`codio_tracker_lookups_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)`).exec(text)
      return m == null ? 0 : Number(m[1])
    }
    // the holders gossiped what they hold: the tracker named providers to the edges that fetched
    await until(async () => (await lookups(byName('edge-2'), 'peers')) + (await lookups(byName('edge-3'), 'peers')) > 0, 30_000, 'a tracker-answered lookup')
    // Redis goes away: the tracker answers Unavailable, the edge serves through the DHT
    process.kill(tracker!.redisPid!, 'SIGKILL')
    const edge = byName('edge-2')
    const before = await lookups(edge, 'unavailable')
    const bytes = randomBytes(3 * 1024 * 1024)
    const path = join(dir, 'after-redis.bin')
    await writeFile(path, bytes)
    const fresh = await cluster.publish(path)
    const out = join(dir, 'after-redis.out')
    await curl(['-f', '-o', out, `${edge.http}/content/${fresh}`])
    expect(Buffer.compare(await readFile(out), bytes)).toBe(0)
    expect(await lookups(edge, 'unavailable')).toBeGreaterThan(before)
  }, 120_000)

  it('after the origin stops, an edge without the content gets it from the peers that have it', async () => {
    const origin = byName('origin-1')
    const edge3 = byName('edge-3')
    expect((await createAdminClient(edge3.admin).listContent({})).contentIds).not.toContain(cid)
    const before = await chunksBySource(edge3)
    process.kill(origin.pid, 'SIGTERM')
    await until(() => !alive(origin.pid), 15_000, 'the origin to exit')
    const out = join(dir, 'edge-3.bin')
    await curl(['-f', '-o', out, `${edge3.http}/content/${cid}`])
    expect(await sha256File(out)).toBe(expected)
    const after = await chunksBySource(edge3)
    expect(after.get(origin.peerId) ?? 0).toBe(before.get(origin.peerId) ?? 0)
    const served = (names: string[]): number => names.map(n => byName(n).peerId).reduce((n, p) => n + (after.get(p) ?? 0) - (before.get(p) ?? 0), 0)
    // both kinds of holder took part: the edges that fetched it and the relay that prefetched it
    const [fromEdges, fromRelay] = [served(['edge-1', 'edge-2']), served(['relay-1'])]
    console.log(`without the origin, edge-3 got ${fromEdges} chunks from edges, ${fromRelay} from relay-1`)
    expect(fromEdges).toBeGreaterThan(0)
    expect(fromRelay).toBeGreaterThan(0)
  }, 120_000)

  it('drains an edge: the download in flight gets every byte, readiness and new requests get 503, then the edge exits 0', async () => {
    const edge = byName('edge-1') // holds the content: it served it above
    // a client that holds back after the first bytes: the request stays in flight
    const download = await heldDownload(`${edge.http}/content/${cid}`)
    expect(download.status).toBe(200)
    const { inFlight } = await createAdminClient(edge.admin).drain({})
    expect(inFlight).toBeGreaterThanOrEqual(1)
    expect((await fetch(`${edge.http}/readyz`)).status).toBe(503)
    const refused = await fetch(`${edge.http}/content/${cid}`, { method: 'HEAD' })
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect((await fetch(`${edge.http}/healthz`)).status).toBe(200)
    expect(sha256(await download.finish())).toBe(expected)
    await until(() => !alive(edge.pid), 15_000, 'the drained edge to exit')
    await until(() => output().includes('edge-1 exited (0): drained'), 5_000, 'its exit code, 0')
  }, 120_000)

  it('SIGTERM drains an edge as the Drain call does: the download in flight gets every byte, then it exits 0', async () => {
    const edge = byName('edge-2')
    const warm = join(dir, 'sigterm-warm.bin')
    await curl(['-f', '-o', warm, `${edge.http}/content/${cid}`]) // held whole: the next read is disk-bound
    // a client that holds back after the first bytes: the request stays in flight
    const download = await heldDownload(`${edge.http}/content/${cid}`)
    expect(download.status).toBe(200)
    process.kill(edge.pid, 'SIGTERM')
    // still answering while it drains: readiness 503, new requests 503 with Retry-After
    await until(async () => (await fetch(`${edge.http}/readyz`).then(r => r.status, () => 0)) === 503, 5_000, 'readiness to answer 503')
    const refused = await fetch(`${edge.http}/content/${cid}`, { method: 'HEAD' })
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('1')
    expect(sha256(await download.finish())).toBe(expected)
    await until(() => !alive(edge.pid), 25_000, 'the edge to exit')
    await until(() => output().includes('edge-2 exited (0)'), 5_000, 'its exit code, 0')
  }, 120_000)

  it('stops every process on SIGTERM', async () => {
    expect(await cluster.terminate()).toBe(0)
    for (const p of file.processes) expect(alive(p.pid)).toBe(false)
  }, 30_000)
})
