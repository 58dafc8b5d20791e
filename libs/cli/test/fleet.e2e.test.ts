/**
 * The fleet's control plane end to end on a real local cluster (`codio cluster`: real
 * processes, the tracker over real NATS and Redis): one ControlService call at the tracker
 * reaches every node of a role through its Watch stream — a cluster configuration change, a
 * purge, a key revocation, a preheat job.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createAdminClient } from '@codio/admin'
import { createControlClient, type ControlClient } from '@codio/tracker'
import { control } from '@codio/proto'
import type { ClusterFile, ClusterProcess } from '../src/endpoints.js'

const exec = promisify(execFile)
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url))

async function until (check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

describe('the fleet through the tracker, on a local cluster', () => {
  let dir: string
  let cluster: ChildProcess
  let output = ''
  let file: ClusterFile
  let tracker: ControlClient
  const role = (r: string): ClusterProcess[] => file.processes.filter(p => p.role === r)

  const publish = async (name: string, size: number): Promise<string> => {
    const path = join(dir, name)
    await writeFile(path, randomBytes(size))
    const { stdout } = await exec(process.execPath, [bin, 'publish', path, '--quiet'], { cwd: dir })
    return stdout.trim().split('\n').pop()!
  }
  const holds = async (p: ClusterProcess, cid: string): Promise<boolean> =>
    (await createAdminClient(p.admin).listContent({})).contentIds.includes(cid)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codio-fleet-'))
    cluster = spawn(process.execPath, [bin, 'cluster', '--dir', join(dir, '.codio'), '--edges', '2', '--relays', '1', '--no-sample'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    cluster.stdout!.on('data', (b: Buffer) => { output += b.toString() })
    cluster.stderr!.on('data', (b: Buffer) => { output += b.toString() })
    await until(() => output.includes('Ctrl-C (or SIGTERM) stops every process.') || cluster.exitCode != null, 180_000, 'the cluster to be up')
    if (cluster.exitCode != null) throw new Error(`cluster exited early:\n${output}`)
    file = JSON.parse(await readFile(join(dir, '.codio', 'cluster.json'), 'utf8'))
    if (file.tracker == null) throw new Error(`the cluster runs no tracker:\n${output}`)
    tracker = createControlClient(file.tracker.rpc)
  }, 240_000)

  afterAll(async () => {
    if (cluster != null && cluster.exitCode == null) {
      const exited = new Promise(resolve => cluster.once('exit', resolve))
      cluster.kill('SIGTERM')
      await exited
    }
    if (dir != null) await rm(dir, { recursive: true, force: true })
  }, 60_000)

  it('one UpdateClusterConfig changes the upload limit of every edge, live, and no relay', async () => {
    const edges = role('edge')
    expect(edges.length).toBe(2)
    const started = Date.now()
    const { config } = await tracker.updateClusterConfig({ role: 'edge', config: { swarm: { maxUploadRate: '5MB' } } })
    expect(Number(config?.version)).toBeGreaterThan(0)
    const limitOf = async (p: ClusterProcess): Promise<{ value: unknown, source?: string }> => {
      const view = await createAdminClient(p.admin).getConfig({})
      const swarm = view.config?.swarm as Record<string, unknown> | undefined
      return { value: swarm?.maxUploadRate, source: view.sources.find(s => s.path === 'swarm.maxUploadRate')?.source }
    }
    await until(async () => (await Promise.all(edges.map(limitOf))).every(l => l.source === 'cluster' && l.value === 5_000_000), 10_000, 'every edge to apply the cluster document')
    const ms = Date.now() - started
    console.log(`fleet-wide update reached ${edges.length} edges in ${ms} ms`)
    for (const relay of role('relay')) expect((await limitOf(relay)).source).toBe('default')
    // the node's own runtime update stays above the cluster layer
    await createAdminClient(edges[0].admin).updateConfig({ config: { swarm: { maxUploadRate: '7MB' } }, updateMask: ['swarm.maxUploadRate'] })
    expect(await limitOf(edges[0])).toEqual({ value: 7_000_000, source: 'runtime' })
  }, 60_000)

  it('a fleet purge empties every node that held the content', async () => {
    const cid = await publish('purge.bin', 3 * 1024 * 1024)
    const edges = role('edge')
    for (const e of edges) {
      const res = await fetch(`${e.http}/content/${cid}`)
      expect(res.status).toBe(200)
      await res.arrayBuffer()
    }
    await until(async () => (await Promise.all(edges.map(async e => await holds(e, cid)))).every(Boolean), 10_000, 'the edges to hold it')
    const { eventId } = await tracker.purge({ contentId: cid })
    expect(eventId).not.toBe('')
    await until(async () => !(await Promise.all([...edges, ...role('origin')].map(async p => await holds(p, cid)))).some(Boolean), 10_000, 'every node to drop it')
  }, 60_000)

  it('a fleet revocation makes every edge refuse the key, and a preheat job fills the edges with a new content', async () => {
    const cid = await publish('preheat.bin', 2 * 1024 * 1024)
    const { job } = await tracker.createPreheatJob({ contentIds: [cid], role: 'edge' })
    expect(job?.id).toBeTruthy()
    await until(async () => (await tracker.getJob({ id: job!.id })).job?.state === control.JobState.SUCCEEDED, 30_000, 'the preheat job to succeed')
    const done = (await tracker.getJob({ id: job!.id })).job!
    expect(done.nodes.map(n => n.peerId).sort()).toEqual(role('edge').map(e => e.peerId).sort())
    for (const e of role('edge')) expect(await holds(e, cid)).toBe(true)

    await tracker.revokeKey({ publicKey: file.publisherKey! })
    const edge = role('edge')[0]
    await until(async () => !(await holds(edge, cid)), 10_000, 'the edge to purge what the revoked key signed')
    const fresh = await publish('after-revoke.bin', 1024 * 1024)
    expect((await fetch(`${edge.http}/content/${fresh}`)).status).toBe(502)
    expect((await tracker.listKeys({})).revoked).toContain(file.publisherKey)
  }, 90_000)
})
