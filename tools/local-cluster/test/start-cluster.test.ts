import { describe, expect, it } from '@jest/globals'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'smol-toml'
import type { ClusterFile } from '../src/cluster-file.js'
import { ClusterStartError, ServiceStartError } from '../src/errors.js'
import { startCluster } from '../src/start-cluster.js'
import { alive, processesMentioning } from './helpers.js'
import { fakeServices, withFakeServices } from './fake-services.js'

const toml = async (path: string): Promise<any> => parse(await readFile(path, 'utf8'))

describe('startCluster (with stand-in services)', () => {
  const fake = withFakeServices('codio-local-cluster-')

  it('starts relays, an origin and edges wired to each other, writes cluster.json, and stop leaves no process', async () => {
    const dir = join(fake.root, 'wired')
    const said: string[] = []
    const cluster = await startCluster({ dir, edges: 2, relays: 2, tracker: false, servicesDir: fake.services, logLevel: 'warn', say: line => said.push(line) })
    let stopped = false
    try {
      const { file } = cluster
      expect(cluster.dir).toBe(dir)
      expect(file.processes.map(p => p.name)).toEqual(['relay-1', 'relay-2', 'origin-1', 'edge-1', 'edge-2'])
      expect(JSON.parse(await readFile(join(dir, 'cluster.json'), 'utf8'))).toEqual(file)
      const ports = file.processes.flatMap(p => [p.http, p.admin, ...p.multiaddrs.map(a => a.split('/p2p/')[0])])
      expect(new Set(ports).size).toBe(ports.length)
      for (const p of file.processes) {
        expect(alive(p.pid)).toBe(true)
        expect((await fetch(`${p.http}/readyz`)).status).toBe(200)
        expect(p.multiaddrs).toEqual([expect.stringMatching(`^/ip4/127.0.0.1/tcp/\\d+/p2p/${p.peerId}$`), expect.stringMatching(`^/ip4/127.0.0.1/udp/\\d+/quic-v1/p2p/${p.peerId}$`)])
        const config = await toml(join(dir, p.name, 'config.toml'))
        expect(config).toMatchObject({ name: p.name, dataDir: p.dataDir, logLevel: 'warn', http: { port: Number(new URL(p.http).port) }, trust: { publisherKeys: [file.publisherKey] } })
        expect(config.tracker).toBeUndefined()
        // every node bootstraps from the relays (by TCP), a relay from the others
        const relays = file.processes.filter(r => r.role === 'relay' && r.name !== p.name).map(r => r.multiaddrs[0])
        expect(config.p2p.bootstrap).toEqual(relays)
      }
      expect((await toml(join(dir, 'origin-1', 'config.toml'))).publisher).toEqual({ keyFile: join(dir, 'publisher.jwk') })
      expect(said).toEqual([])
      await cluster.stop()
      stopped = true
      for (const p of file.processes) expect(alive(p.pid)).toBe(false)
      expect(processesMentioning(dir)).toEqual([])
      // nothing was said for processes the cluster stopped itself
      expect(said).toEqual([])
    } finally {
      if (!stopped) await cluster.stop()
    }
  })

  it('keeps each node\'s peer key and the publisher key across runs', async () => {
    const dir = join(fake.root, 'again')
    const run = async (): Promise<ClusterFile> => {
      const c = await startCluster({ dir, edges: 1, relays: 1, tracker: false, servicesDir: fake.services })
      await c.stop()
      return c.file
    }
    const [first, second] = [await run(), await run()]
    expect(second.publisherKey).toBe(first.publisherKey)
    expect(second.processes.map(p => p.peerId)).toEqual(first.processes.map(p => p.peerId))
  })

  it('says when a node exits on its own', async () => {
    const said: string[] = []
    const c = await startCluster({ dir: join(fake.root, 'exits'), edges: 1, relays: 1, tracker: false, servicesDir: fake.services, say: line => said.push(line) })
    try {
      const edge = c.file.processes.find(p => p.name === 'edge-1')!
      process.kill(edge.pid, 'SIGTERM')
      process.kill(c.file.processes.find(p => p.name === 'relay-1')!.pid, 'SIGKILL')
      await new Promise(resolve => setTimeout(resolve, 300))
      expect(said.sort()).toEqual([`edge-1 exited (0): drained; log: ${edge.log!}`, `relay-1 exited unexpectedly (SIGKILL); log: ${join(c.dir, 'logs', 'relay-1.log')}`])
    } finally {
      await c.stop()
    }
  })

  it('fails with the log of a node that exits before it is ready, and stops the others', async () => {
    const dir = join(fake.root, 'failing')
    process.env.FAKE_SERVICE_FAIL = 'edge-2'
    try {
      const err = await startCluster({ dir, edges: 2, relays: 1, tracker: false, servicesDir: fake.services }).catch((e: unknown) => e) as ServiceStartError
      expect(err).toBeInstanceOf(ServiceStartError)
      expect(err.message).toBe(`edge-2 exited (1) before it was ready; its log: ${join(dir, 'logs', 'edge-2.log')}\nedge-2: refusing to start`)
    } finally {
      delete process.env.FAKE_SERVICE_FAIL
    }
    expect(processesMentioning(dir)).toEqual([])
  })

  it('refuses to start when a service is not built or a count is wrong', async () => {
    const partial = await fakeServices(join(fake.root, 'partial'), ['origin', 'relay'])
    await expect(startCluster({ dir: join(fake.root, 'p'), servicesDir: partial })).rejects.toThrow(new ClusterStartError(`services/edge is not built (no ${join(partial, 'edge', 'dist', 'main.js')}): run \`npm run build\` first, or start with \`npm start\``))
    for (const counts of [{ edges: 0 }, { relays: 1.5 }]) {
      await expect(startCluster({ dir: join(fake.root, 'c'), servicesDir: fake.services, ...counts })).rejects.toThrow(ClusterStartError)
    }
  })

  it('runs without the tracker, and says so, when the tracker is not built', async () => {
    const said: string[] = []
    const c = await startCluster({ dir: join(fake.root, 'no-tracker'), edges: 1, relays: 1, servicesDir: fake.services, say: line => said.push(line) })
    await c.stop()
    expect(c.file.tracker).toBeUndefined()
    expect(said).toEqual(['tracker not built (services/tracker/dist/main.js): running without it, edges use the DHT alone'])
  })
})
