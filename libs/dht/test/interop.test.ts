import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import * as p2p from '@codio/p2p'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper, type KadDHT, type SingleKadDHT } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { until } from '@codio/testing'
import { randomCid, startCluster, tcpAddr, type Cluster } from './helpers.js'
import type { ProviderInfo } from '../src/index.js'

describe('interop with a plain js-libp2p kad-dht node', () => {
  let cluster: Cluster
  let plain: Libp2p<{ dht: KadDHT }>

  beforeAll(async () => {
    cluster = await startCluster(3, { queryTimeoutMs: 20_000 })
    const boot = cluster.nodes[0]
    // none of our code: stock libp2p modules with their defaults (Noise only, /ipfs/id/1.0.0,
    // /ipfs/ping/1.0.0), told only Codio's DHT protocol id
    plain = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        ping: ping(), // kad-dht depends on a ping service
        dht: kadDHT({ protocol: p2p.DHT_PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper })
      }
    })
    await plain.dial(boot.getMultiaddrs().find(a => a.toString().includes('/tcp/'))!)
    await until(() => (plain.services.dht as unknown as SingleKadDHT).routingTable.size > 0, 20_000, 'plain node routing table')
    await until(() => cluster.managers[0].routingTablePeers().some(p => p.equals(plain.peerId)), 20_000, 'boot sees the plain node as a DHT server')
  }, 60_000)

  afterAll(async () => {
    await plain?.stop()
    await cluster?.stop()
  })

  it('the plain node finds providers announced through DhtManager.provide', async () => {
    const cid = await randomCid()
    const { holders } = await cluster.managers[1].provide(cid)
    expect(holders).toBeGreaterThanOrEqual(1)
    const found: string[] = []
    for await (const p of plain.contentRouting.findProviders(cid, { signal: AbortSignal.timeout(20_000) })) {
      found.push(p.id.toString())
      expect(p.multiaddrs.map(m => m.toString())).toContain(tcpAddr(cluster.nodes[1]))
      break
    }
    expect(found).toEqual([cluster.nodes[1].peerId.toString()])
  })

  it('DhtManager.findProviders finds what the plain node announces with contentRouting.provide', async () => {
    const cid = await randomCid()
    await plain.contentRouting.provide(cid, { signal: AbortSignal.timeout(20_000) })
    const found: ProviderInfo[] = []
    for await (const p of cluster.managers[2].findProviders(cid)) found.push(p)
    expect(found.map(p => p.id.toString())).toEqual([plain.peerId.toString()])
    const plainAddr = plain.getMultiaddrs()[0].toString().replace(/\/p2p\/[^/]+$/, '')
    expect(found[0].multiaddrs.map(m => m.toString())).toContain(plainAddr)
  })
})
