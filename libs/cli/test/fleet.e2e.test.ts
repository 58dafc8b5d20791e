/**
 * The fleet's control plane end to end on a real local cluster (`codio cluster`: real
 * processes, the tracker over real NATS and Redis): one ControlService call at the tracker
 * reaches every node of a role through its Watch stream — a cluster configuration change, a
 * purge, a key revocation, a preheat job.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createAdminClient } from '@codio/admin'
import { createControlClient, type ControlClient } from '@codio/tracker'
import { control } from '@codio/proto'
import type { ClusterFile, ClusterProcess } from '../src/endpoints.js'
import { startLocalCluster, until as untilEvery, type LocalCluster } from './local-cluster.js'

/** Polled every 50 ms: the first test measures how fast an update reaches the edges. */
const until = async (check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> => await untilEvery(check, ms, what, 50)

describe('the fleet through the tracker, on a local cluster', () => {
  let cluster: LocalCluster
  let file: ClusterFile
  let tracker: ControlClient
  const role = (r: string): ClusterProcess[] => cluster.role(r)

  const publish = async (name: string, size: number): Promise<string> => {
    const path = join(cluster.dir, name)
    await writeFile(path, randomBytes(size))
    return await cluster.publish(path)
  }
  const holds = async (p: ClusterProcess, cid: string): Promise<boolean> =>
    (await createAdminClient(p.admin).listContent({})).contentIds.includes(cid)

  beforeAll(async () => {
    cluster = await startLocalCluster({ prefix: 'codio-fleet-', args: () => ['--edges', '2', '--relays', '1', '--no-sample'], ready: 'Ctrl-C (or SIGTERM) stops every process.', what: 'the cluster to be up' })
    file = cluster.file
    if (file.tracker == null) throw new Error(`the cluster runs no tracker:\n${cluster.output()}`)
    tracker = createControlClient(file.tracker.rpc)
  }, 240_000)

  afterAll(async () => {
    await cluster?.stop()
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
