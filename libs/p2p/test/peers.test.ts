import { afterAll, afterEach, describe, expect, it } from '@jest/globals'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  createP2PNode, DHT_PROTOCOL, InvalidMultiaddrError, InvalidOptionError, InvalidPeerIdError, KEEP_ALIVE_TAG,
  keepAlive, PeerKeyFileError, releaseKeepAlive, type P2PNode, type P2PNodeInit
} from '../src/index.js'
import { freePort } from '@codio/sidecars'
import { startTestNode, stopTestNodes } from '../src/testing.js'
import { until } from '@codio/testing'
import { sleep } from './util.js'

const FAST_RECONNECT = { initialDelayMs: 200, maxDelayMs: 1_000, factor: 2 }

describe('peer table, keep-alive and protocol ids', () => {
  const nodes: P2PNode[] = []
  const start = async (init: Partial<P2PNodeInit> = {}): Promise<P2PNode> => await startTestNode(init, nodes)

  afterAll(async () => {
    await stopTestNodes(nodes)
  })

  it('speaks libp2p\'s standard identify and ping ids, the DHT under /codio/, and circuit relay\'s spec ids', async () => {
    const n = await start({ relayServer: true })
    const protocols = n.getProtocols()
    expect(protocols).toEqual(expect.arrayContaining([DHT_PROTOCOL]))
    expect(protocols.filter(p => !p.startsWith('/codio/')).sort()).toEqual([
      '/ipfs/id/1.0.0', '/ipfs/id/push/1.0.0', '/ipfs/ping/1.0.0',
      '/libp2p/circuit/relay/0.2.0/hop', '/libp2p/circuit/relay/0.2.0/stop'
    ])
  })

  it('records connected peers from connection, identify and discovery events', async () => {
    const boot = await start()
    const bootAddr = boot.getMultiaddrs()[0]
    const before = Date.now()
    const n = await start({ bootstrap: [bootAddr.toString()] })
    await until(() => n.services.peers.get(boot.peerId)?.protocols.includes(DHT_PROTOCOL) === true, 10_000, 'identify')

    const rec = n.services.peers.get(boot.peerId)!
    expect(rec.peerId).toBe(boot.peerId.toString())
    expect(rec.connections).toBe(n.getConnections(boot.peerId).length)
    expect(rec.connections).toBeGreaterThan(0)
    expect(rec.connectedSince).toBeGreaterThanOrEqual(before)
    expect(rec.lastSeen).toBeGreaterThanOrEqual(rec.connectedSince!)
    expect(rec.disconnectedAt).toBeUndefined()
    expect(rec.keepAlive).toBe(true) // bootstrap peers are kept alive
    expect(rec.addresses).toContain(bootAddr.toString().replace(/\/p2p\/.*$/, ''))
    expect(rec.protocols).toContain('/ipfs/ping/1.0.0')
    expect(rec.reconnectAttempts).toBe(0)
    // the bootstrap node sees the inbound peer too, not kept alive there
    await until(() => (boot.services.peers.get(n.peerId)?.connections ?? 0) > 0, 15_000, 'the inbound peer recorded at the bootstrap node')
    expect(boot.services.peers.get(n.peerId.toString())?.keepAlive).toBe(false)
    expect(n.services.peers.list().map(r => r.peerId)).toContain(boot.peerId.toString())
    const tags = (await n.peerStore.get(boot.peerId)).tags
    expect(tags.get(KEEP_ALIVE_TAG)?.value).toBe(100)

    // a clean disconnect is recorded with its time
    const closedAfter = Date.now()
    await boot.hangUp(n.peerId)
    await until(() => boot.services.peers.get(n.peerId)?.connections === 0, 15_000, 'the disconnect recorded at the bootstrap node')
    const gone = boot.services.peers.get(n.peerId)!
    expect(gone.connectedSince).toBeUndefined()
    expect(gone.disconnectedAt).toBeGreaterThanOrEqual(closedAfter)
    expect(gone.lastSeen).toBe(gone.disconnectedAt)
    expect(gone.connectionsOpened).toBeGreaterThanOrEqual(1)
    // ...and the kept-alive side dials back by itself
    await until(() => n.getConnections(boot.peerId).length > 0, 10_000, 'redial of the bootstrap peer')
  })

  it('keepAlive() dials a peer and redials it after a disconnect; releaseKeepAlive() stops that', async () => {
    const a = await start({ reconnect: FAST_RECONNECT })
    const b = await start()
    await a.peerStore.merge(b.peerId, { multiaddrs: b.getMultiaddrs() })
    await keepAlive(a, b.peerId, 'download-1')
    await until(() => a.getConnections(b.peerId).length > 0, 10_000, 'keep-alive dial')
    expect(a.services.peers.get(b.peerId)?.keepAlive).toBe(true)

    const hungUpAt = Date.now()
    await b.hangUp(a.peerId)
    // the redial may follow within one poll of `until`: wait for the recorded disconnect time,
    // which stays, not for a connection count of 0, which may last only a moment
    await until(() => (a.services.peers.get(b.peerId)?.disconnectedAt ?? 0) >= hungUpAt, 15_000, 'the hang-up recorded')
    await until(() => a.getConnections(b.peerId).length > 0, 10_000, 'redial after hang-up')
    expect(a.services.peers.get(b.peerId)!.reconnectAttempts).toBeGreaterThanOrEqual(1)

    // a second holder keeps the pin when the first lets go
    await keepAlive(a, b.peerId, 'download-2')
    await releaseKeepAlive(a, b.peerId, 'download-1')
    expect(a.services.peers.isKeptAlive(b.peerId)).toBe(true)
    await releaseKeepAlive(a, b.peerId, 'download-2')
    expect(a.services.peers.get(b.peerId)?.keepAlive).toBe(false)
    expect((await a.peerStore.get(b.peerId)).tags.has(KEEP_ALIVE_TAG)).toBe(false)
    const attempts = a.services.peers.get(b.peerId)!.reconnectAttempts
    await b.hangUp(a.peerId)
    await sleep(1_000)
    expect(a.services.peers.get(b.peerId)!.reconnectAttempts).toBe(attempts)
  })

  it('keeps a bootstrap peer named by a DNS address without a peer ID, follows it to a new key, and drops the one that is itself', async () => {
    const bootPort = await freePort()
    const boot = await start({ listen: [`/ip4/127.0.0.1/tcp/${bootPort}`] })
    const byName = `/dns4/localhost/tcp/${bootPort}`
    const n = await start({ reconnect: FAST_RECONNECT, bootstrap: [byName] })
    await until(() => n.services.peers.isKeptAlive(boot.peerId), 10_000, 'bootstrap peer learned from its address')
    expect(n.services.peers.get(boot.peerId)?.connections).toBeGreaterThan(0)
    expect((await n.peerStore.get(boot.peerId)).tags.get(KEEP_ALIVE_TAG)?.value).toBe(100)
    // redialled through the name after a disconnect, like a bootstrap peer given with its ID
    await boot.hangUp(n.peerId)
    await until(() => n.services.peers.get(boot.peerId)!.reconnectAttempts >= 1 && n.getConnections(boot.peerId).length > 0, 10_000, 'redial of the named bootstrap peer')

    // the name comes back as another peer (a relay replaced, with a new key): followed
    await boot.stop()
    const successor = await start({ listen: [`/ip4/127.0.0.1/tcp/${bootPort}`] })
    await until(() => n.services.peers.isKeptAlive(successor.peerId) && n.getConnections(successor.peerId).length > 0, 15_000, 'the successor behind the name')
    expect(n.services.peers.isKeptAlive(boot.peerId)).toBe(false)
    expect((await n.peerStore.get(boot.peerId)).tags.has(KEEP_ALIVE_TAG)).toBe(false)

    // a relay's shared list names every relay, itself included: it keeps the others only
    const port = await freePort()
    const relay = await start({ reconnect: FAST_RECONNECT, listen: [`/ip4/127.0.0.1/tcp/${port}`], bootstrap: [`/ip4/127.0.0.1/tcp/${port}`, byName] })
    await until(() => relay.services.peers.isKeptAlive(successor.peerId), 10_000, 'the other relay')
    await sleep(1_500)
    expect(relay.services.peers.isKeptAlive(relay.peerId)).toBe(false)
    expect(relay.services.peers.list().filter(r => r.keepAlive).map(r => r.peerId)).toEqual([successor.peerId.toString()])
  })

  it('rejects bad options and peer IDs with typed errors', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    await expect(createP2PNode({ privateKey, maxConnections: 0 })).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(createP2PNode({ privateKey, bootstrap: ['/ip4/127.0.0.1/tcp/1/not-a-protocol'] })).rejects.toBeInstanceOf(InvalidMultiaddrError)
    await expect(createP2PNode({ privateKey, relayReservation: ['/ip4/127.0.0.1/tcp/1'] })).rejects.toBeInstanceOf(InvalidMultiaddrError)
    await expect(createP2PNode({ privateKey, relayReservation: ['not a multiaddr'] })).rejects.toBeInstanceOf(InvalidMultiaddrError)
    await expect(createP2PNode({ privateKey, mdns: { serviceTag: 'no spaces allowed' } })).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(createP2PNode({ privateKey, reconnect: { factor: 0.5 } })).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(createP2PNode({ privateKey, relayServer: { maxReservations: -1 } })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' })
    const n = await start()
    expect(() => n.services.peers.get('not-a-peer-id')).toThrow(InvalidPeerIdError)
    await expect(keepAlive(n, n.peerId)).rejects.toBeInstanceOf(InvalidPeerIdError)
    // a node on its own bootstrap list (a shared cluster list) does not pin itself
    const selfId = peerIdFromPrivateKey(privateKey).toString()
    const self = await startTestNode({ privateKey, bootstrap: [`/ip4/127.0.0.1/tcp/1/p2p/${selfId}`] })
    try {
      expect(self.services.peers.isKeptAlive(self.peerId)).toBe(false)
    } finally {
      await self.stop()
    }
    for (const E of [InvalidOptionError, InvalidMultiaddrError, InvalidPeerIdError, PeerKeyFileError]) {
      expect(new E('x').name).toBe(E.name)
    }
  })
})

describe('bootstrap peer restart', () => {
  const nodes: P2PNode[] = []
  afterEach(async () => {
    await stopTestNodes(nodes)
  })

  it('reconnects with backoff to a bootstrap peer that stops and comes back on the same key and port', async () => {
    const bootKey = await generateKeyPair('Ed25519')
    let boot = await startTestNode({ privateKey: bootKey }, nodes)
    const bootAddr = boot.getMultiaddrs()[0]
    const port = bootAddr.toString().match(/\/tcp\/(\d+)/)![1]
    const n = await startTestNode({ bootstrap: [bootAddr.toString()], reconnect: FAST_RECONNECT }, nodes)
    await until(() => n.getConnections(boot.peerId).length > 0, 10_000, 'bootstrap connection')
    const firstSince = n.services.peers.get(boot.peerId)!.connectedSince!

    const stoppedAt = Date.now()
    await boot.stop()
    nodes.splice(nodes.indexOf(boot), 1)
    await until(() => n.services.peers.get(boot.peerId)?.connections === 0, 10_000, 'disconnect recorded')
    const down = n.services.peers.get(boot.peerId)!
    expect(down.connectedSince).toBeUndefined()
    expect(down.disconnectedAt).toBeGreaterThanOrEqual(stoppedAt)
    expect(down.disconnectedAt).toBeGreaterThan(firstSince)

    // 2.5 s down: with 200 ms doubling to a 1 s cap, about 4 attempts (12 without backoff)
    await sleep(2_500)
    const attemptsWhileDown = n.services.peers.get(boot.peerId)!.reconnectAttempts
    expect(attemptsWhileDown).toBeGreaterThanOrEqual(2)
    expect(attemptsWhileDown).toBeLessThanOrEqual(8)

    boot = await startTestNode({ privateKey: bootKey, listen: [`/ip4/127.0.0.1/tcp/${port}`] }, nodes)
    await until(() => n.getConnections(boot.peerId).length > 0, 10_000, 'reconnection to the restarted bootstrap peer')
    await until(() => n.services.peers.get(boot.peerId)?.connectedSince != null, 15_000, 'the reconnection recorded')
    const back = n.services.peers.get(boot.peerId)!
    expect(back.connectedSince).toBeGreaterThan(back.disconnectedAt!)
    expect(back.connectionsOpened).toBeGreaterThanOrEqual(2)
    expect(back.keepAlive).toBe(true)
  })
})

// the connection limit (make room, not refuse) is tested in connection-limit.test.ts
