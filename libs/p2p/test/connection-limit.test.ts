import { afterEach, describe, expect, it } from '@jest/globals'
import type { Stream } from '@libp2p/interface'
import { CONNECTION_GRACE_MS, keepAlive, type P2PNode } from '../src/index.js'
import { until } from '@codio/testing'
import { startTestNode, stopTestNodes } from '../src/testing.js'
import { sleep, within } from './util.js'

const HOLD_PROTOCOL = '/codio-test/hold/1.0.0'

/** A node at its connection limit makes room for a newcomer instead of refusing it. */
describe('connection limit: make room, not refuse', () => {
  const nodes: P2PNode[] = []
  afterEach(async () => {
    await stopTestNodes(nodes)
  })

  it('a node at maxConnections 3 answers an inbound DHT RPC by closing an idle untagged connection; a kept-alive peer and a connection with a stream in use stay', async () => {
    const hub = await startTestNode({ maxConnections: 3 }, nodes)
    const held: Stream[] = []
    await hub.handle(HOLD_PROTOCOL, (stream) => { held.push(stream) })
    const [kept, busy, idle] = await Promise.all([startTestNode({}, nodes), startTestNode({}, nodes), startTestNode({}, nodes)])
    const hubAddr = hub.getMultiaddrs()[0]

    // the hub keeps `kept` alive (a bootstrap peer, a download's provider), `busy` holds a stream
    // open on an application protocol (a swarm session), `idle` only connected
    await kept.dial(hubAddr)
    await keepAlive(hub, kept.peerId, 'test')
    const stream = await busy.dialProtocol(hubAddr, HOLD_PROTOCOL)
    await idle.dial(hubAddr)
    await until(() => hub.getConnections().length === 3 && held.length === 1, 10_000, 'three connections to the hub')
    // past the grace period every connection is a candidate
    await sleep(CONNECTION_GRACE_MS + 200)

    // a newcomer asks the full hub a DHT question (FIND_NODE): the hub accepts it and makes room
    const newcomer = await startTestNode({}, nodes)
    await newcomer.dial(hubAddr)
    await until(() => newcomer.services.dht.routingTable.size > 0, 10_000, 'the hub in the newcomer\'s routing table')
    const answered: string[] = []
    await within((async () => {
      for await (const ev of newcomer.services.dht.getClosestPeers(crypto.getRandomValues(new Uint8Array(32)), { signal: AbortSignal.timeout(10_000) })) {
        if (ev.name === 'PEER_RESPONSE') answered.push(ev.from.toString())
      }
    })(), 15_000, 'the lookup')
    expect(answered).toContain(hub.peerId.toString())

    await until(() => hub.getConnections(idle.peerId).length === 0, 10_000, 'the idle connection pruned')
    expect(hub.getConnections(kept.peerId).length).toBeGreaterThan(0)
    expect(hub.getConnections(busy.peerId).length).toBeGreaterThan(0)
    expect(stream.status).toBe('open')
    const limit = hub.services.peers.connectionLimit()
    expect(limit.maxConnections).toBe(3)
    expect(limit.pruned).toBeGreaterThanOrEqual(1)
  }, 60_000)

  it('connections that arrive at once are all accepted, then pruned back to the limit; protected ones are never closed', async () => {
    const hub = await startTestNode({ maxConnections: 3 }, nodes)
    const hubAddr = hub.getMultiaddrs()[0]
    const kept = await startTestNode({}, nodes)
    await kept.dial(hubAddr)
    await keepAlive(hub, kept.peerId, 'test')
    const peers = await Promise.all(Array.from({ length: 5 }, async () => startTestNode({}, nodes)))
    // libp2p refuses inbound only beyond 3 + headroom (4): all five dials succeed
    const dials = await Promise.allSettled(peers.map(async p => p.dial(hubAddr)))
    expect(dials.filter(d => d.status === 'fulfilled')).toHaveLength(5)
    // after the grace period the hub is back at its limit, the kept-alive peer still connected
    await until(() => hub.getConnections().filter(c => c.status === 'open').length <= 3, CONNECTION_GRACE_MS + 10_000, 'pruning to the limit')
    expect(hub.getConnections(kept.peerId).length).toBeGreaterThan(0)
    expect(hub.services.peers.connectionLimit().pruned).toBeGreaterThanOrEqual(1)
    expect(hub.services.peers.connectionLimit().peak).toBeGreaterThanOrEqual(4)
    // and a late arrival is still let in
    const late = await startTestNode({}, nodes)
    await expect(late.dial(hubAddr)).resolves.toBeDefined()
  }, 60_000)
})
