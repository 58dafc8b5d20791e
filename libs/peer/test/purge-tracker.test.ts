/**
 * Purge and the tracker, all real: NATS and Redis (sidecars) and the tracker service as its own
 * process (services/tracker/dist, as `codio cluster` starts it). A peer that purges a content
 * gossips at once, not at its next interval, and the tracker stops naming it as a holder.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, startNats, startRedis, type Sidecar } from '@codio/sidecars'
import { TrackerClient } from '@codio/tracker'
import type { CodioPeer } from '../src/peer.js'
import { makeContent, Peers, publish, randomChunks } from './content.js'
import { until } from '@codio/testing'

const TRACKER_MAIN = fileURLToPath(new URL('../../../services/tracker/dist/main.js', import.meta.url))
/** Far longer than the test: any gossip seen comes from a change, not from the timer. */
const GOSSIP_INTERVAL_MS = 600_000

describe('purge: the tracker forgets the content at this node', () => {
  const peers = new Peers()
  let nats: Sidecar
  let redis: Sidecar
  let tracker: ChildProcess
  let client: TrackerClient
  let rpcUrl: string

  beforeAll(async () => {
    if (!existsSync(TRACKER_MAIN)) throw new Error(`${TRACKER_MAIN} is missing: build services/tracker first`)
    ;[nats, redis] = await Promise.all([startNats({ containers: false }), startRedis({ containers: false })])
    const [http, rpc] = [await freePort(), await freePort()]
    const config = join(await peers.root(), 'tracker.toml')
    await writeFile(config, [
      'logLevel = "warn"',
      `http = { host = "127.0.0.1", port = ${http} }`,
      `rpc = { host = "127.0.0.1", port = ${rpc} }`,
      `nats = { servers = "${nats.url}" }`,
      `redis = { url = "${redis.url}" }`
    ].join('\n') + '\n')
    tracker = spawn(process.execPath, [TRACKER_MAIN, '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] })
    rpcUrl = `http://127.0.0.1:${rpc}`
    await until(async () => await fetch(`http://127.0.0.1:${http}/readyz`).then(r => r.ok, () => false), 15_000, 'the tracker to be ready')
    client = new TrackerClient({ baseUrl: rpcUrl, timeoutMs: 2000 })
  })

  afterAll(async () => {
    await peers.close()
    if (tracker != null && tracker.exitCode == null) {
      const exited = new Promise(resolve => tracker.once('exit', resolve))
      tracker.kill('SIGTERM')
      await exited
    }
    await Promise.allSettled([nats?.stop(), redis?.stop()])
  })

  const holdings = async (peer: CodioPeer): Promise<string[]> =>
    (await client.listAvailability({ peerId: peer.peerId.toString() })).map(e => e.contentId).sort()

  it('drops the content from the node\'s availability at once; other contents stay', async () => {
    const kp = await peers.kp
    const [x, y] = [await makeContent(kp, randomChunks(3)), await makeContent(kp, randomChunks(2))]
    const origin = await peers.start('origin', { role: 'origin', tracker: { url: rpcUrl, nats: [nats.url], gossipIntervalMs: GOSSIP_INTERVAL_MS } })
    await publish(origin, x)
    await publish(origin, y)
    await until(async () => (await holdings(origin)).length === 2, 10_000, 'the tracker to hear of both contents')
    expect((await client.selectPeers(x.contentId.toString(), 5)).map(p => p.peerId)).toEqual([origin.peerId.toString()])

    const t0 = performance.now()
    const r = await origin.purge(x.contentId)
    expect(r.held).toBe(true)
    // the gossip went out with purge(); the tracker applies it within moments, not an interval
    await until(async () => (await holdings(origin)).length === 1, 3000, 'the tracker to forget x here')
    const ms = performance.now() - t0
    expect(await holdings(origin)).toEqual([y.contentId.toString()])
    expect(await client.selectPeers(x.contentId.toString(), 5)).toEqual([])
    expect((await client.selectPeers(y.contentId.toString(), 5)).map(p => p.peerId)).toEqual([origin.peerId.toString()])
    console.log(`purge → tracker forgot the content in ${ms.toFixed(0)} ms (gossip interval ${GOSSIP_INTERVAL_MS / 1000} s)`)
  })
})
