/**
 * FEC end to end on a real local cluster (`codio cluster`, real processes, curl as the client):
 * content some of whose data chunks exist nowhere, and content whose only copy of some data
 * chunks sits on a peer whose disk serves corrupted bytes. Both are served byte-exact by an
 * edge that rebuilds the chunks from Reed-Solomon parity, and says so in its statistics.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash, randomBytes } from 'node:crypto'
import { readFile, writeFile, unlink, open } from 'node:fs/promises'
import { join } from 'node:path'
import { createAdminClient } from '@codio/admin'
import { decodeManifest, parseContentId, type CID, type Manifest } from '@codio/content'
import { fecPlan } from '@codio/fec'
import { TrackerClient } from '@codio/tracker'
import type { ClusterFile, ClusterProcess } from '../src/endpoints.js'
import { curl, sha256File, startLocalCluster, until, type LocalCluster } from './local-cluster.js'

const MiB = 1024 * 1024

/** Where a store keeps a block (libs/store layout: blocks/<next-to-last two chars>/<CIDv1>). */
function blockFile (proc: ClusterProcess, cid: CID): string {
  const key = cid.toV1().toString()
  return join(proc.dataDir!, 'store', 'blocks', key.slice(-3, -1), key)
}

async function flipFirstByte (path: string): Promise<void> {
  const fh = await open(path, 'r+')
  try {
    const b = Buffer.alloc(1)
    await fh.read(b, 0, 1, 0)
    b[0] ^= 0xff
    await fh.write(b, 0, 1, 0)
  } finally {
    await fh.close()
  }
}

describe('FEC on a local cluster', () => {
  let cluster: LocalCluster
  let file: ClusterFile
  const byName = (name: string): ClusterProcess => cluster.byName(name)

  /** Publish `bytes` through the CLI with FEC `fec`; the content ID and its manifest. */
  async function publish (name: string, bytes: Uint8Array, fec: string): Promise<{ cid: string, manifest: Manifest }> {
    const path = join(cluster.dir, name)
    await writeFile(path, bytes)
    const cid = await cluster.publish(path, ['--fec', fec])
    const manifest = decodeManifest(await readFile(blockFile(byName('origin-1'), parseContentId(cid))))
    return { cid, manifest }
  }

  async function curlSha256 (edge: ClusterProcess, cid: string): Promise<string> {
    const out = join(cluster.dir, `${edge.name}-${cid.slice(-8)}.bin`)
    await curl(['-f', '-o', out, `${edge.http}/content/${cid}`])
    return await sha256File(out)
  }

  beforeAll(async () => {
    cluster = await startLocalCluster({ prefix: 'codio-fec-e2e-', args: () => ['--edges', '2', '--relays', '1', '--no-sample'], ready: /cluster is up/, what: 'the cluster to start' })
    file = cluster.file
  }, 240_000)

  afterAll(async () => {
    await cluster?.stop()
  }, 60_000)

  it('serves content whose data chunks exist nowhere, rebuilt from the parity that does', async () => {
    const bytes = randomBytes(20 * MiB + 12345) // 21 chunks: FEC groups of 10, 10, 1 at 10+4
    const { cid, manifest } = await publish('missing.bin', bytes, '10+4')
    const plan = fecPlan(manifest)!
    expect(plan.groupCount).toBe(3)
    // the only copies of data chunks 3 and 7 (group 0), 14 (group 1) and 20 (the last, short one) go
    const lost = [3, 7, 14, 20]
    for (const i of lost) await unlink(blockFile(byName('origin-1'), manifest.chunks[i]))

    const edge = createAdminClient(byName('edge-1').admin)
    const before = await edge.getStatus({})
    expect(await curlSha256(byName('edge-1'), cid)).toBe(createHash('sha256').update(bytes).digest('hex'))
    const after = await edge.getStatus({})
    expect(Number(after.chunksRebuilt - before.chunksRebuilt)).toBe(lost.length)
    expect(Number(after.fecGroupsRepaired - before.fecGroupsRepaired)).toBe(3)
    // one parity chunk per lost data chunk is enough, and no more was fetched
    expect(Number(after.parityChunksFetched - before.parityChunksFetched)).toBe(lost.length)
    const metrics = await (await fetch(`${byName('edge-1').http}/metrics`)).text()
    expect(metrics).toMatch(/codio_fec_chunks_rebuilt_total\S* 4\b/)
    // the edge now holds the whole content and serves it to the next edge
    await until(async () => (await edge.listContent({})).contentIds.includes(cid), 30_000, 'edge-1 to hold the content')
  }, 120_000)

  it('serves content whose only copy of some chunks is corrupted on a peer\'s disk', async () => {
    const bytes = randomBytes(12 * MiB)
    const { cid, manifest } = await publish('corrupt.bin', bytes, '6+2')
    const relay = byName('relay-1')
    await createAdminClient(relay.admin).prefetch({ contentId: cid })
    // the edge must know the relay as a holder: with a tracker, once its gossip has arrived
    if (file.tracker != null) {
      const tracker = new TrackerClient({ baseUrl: file.tracker.rpc, timeoutMs: 2000 })
      await until(async () => (await tracker.listAvailability({ contentId: cid })).some(e => e.peerId === relay.peerId && e.complete), 30_000, 'the tracker to list relay-1 as a holder')
    }
    // relay-1's disk now returns bad bytes for chunks 2 and 9; the origin has lost both
    for (const i of [2, 9]) {
      await flipFirstByte(blockFile(relay, manifest.chunks[i]))
      await unlink(blockFile(byName('origin-1'), manifest.chunks[i]))
    }
    const edge = createAdminClient(byName('edge-2').admin)
    const before = await edge.getStatus({})
    expect(await curlSha256(byName('edge-2'), cid)).toBe(createHash('sha256').update(bytes).digest('hex'))
    const after = await edge.getStatus({})
    expect(Number(after.chunksRebuilt - before.chunksRebuilt)).toBe(2)
    const { peers } = await edge.getPeerStats({})
    const fromRelay = peers.find(p => p.peerId === relay.peerId)
    expect(Number(fromRelay?.verificationFailures ?? 0)).toBeGreaterThanOrEqual(1)
    const metrics = await (await fetch(`${byName('edge-2').http}/metrics`)).text()
    expect(metrics).toMatch(/codio_chunk_verification_failures_total\S* [1-9]/)
  }, 120_000)
})
