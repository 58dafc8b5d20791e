/**
 * Per-peer limits from a service's `[limits]` table (issue 19, hostile peers), on real peers
 * over loopback TCP: the parsed configuration reaches the exchange, and each refusal shows in
 * `codio_exchange_refused_total{reason}`.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { multiaddr } from '@multiformats/multiaddr'
import { CHUNK_PROTOCOL } from '@codio/exchange'
import { chunkCid } from '@codio/content'
import { roleConfigSchemas } from '@codio/node-config'
import type { Registry } from '@codio/telemetry'
import { peerSettings } from '../src/config.js'
import { addrOf, Peers } from './content.js'
import { until } from '@codio/testing'

async function refused (registry: Registry, reason: string): Promise<number> {
  const metric = registry.getSingleMetric('codio_exchange_refused_total')
  const values = (await metric?.get())?.values ?? []
  return values.find(v => v.labels.reason === reason)?.value ?? 0
}

describe('per-peer limits of a peer', () => {
  const peers = new Peers()

  afterAll(async () => {
    await peers.close()
  })

  it('reads [limits] and counts each refusal by reason', async () => {
    const config = roleConfigSchemas.edge.parse({ limits: { maxStreamsPerPeer: 1, haveRatePerSecond: 5, haveBurst: 5 } })
    expect(config.limits.maxRequestsPerPeer).toBe(256)
    expect(() => roleConfigSchemas.edge.parse({ limits: { maxStreamsPerPeer: 0 } })).toThrow()
    const limits = peerSettings(config).limits
    const guarded = await peers.start('guarded', { limits })
    const other = await peers.start('other')
    await other.node.dial(multiaddr(addrOf(guarded)))
    const registry = guarded.init.registry
    // a second block stream while the first is open
    const first = await other.node.dialProtocol(guarded.peerId, CHUNK_PROTOCOL)
    const second = await other.node.dialProtocol(guarded.peerId, CHUNK_PROTOCOL)
    await until(async () => await refused(registry, 'streams') === 1, 15_000, 'the second stream to be refused')
    first.abort(new Error('done'))
    second.abort(new Error('done'))
    // the limit is per peer: another peer's stream is served meanwhile
    const third = await peers.start('third')
    await third.node.dial(multiaddr(addrOf(guarded)))
    expect(await third.node.services.exchange.has(guarded.peerId, chunkCid(new Uint8Array([1, 2, 3])))).toBe(false)
    expect(await refused(registry, 'streams')).toBe(1)
  }, 60_000)
})
