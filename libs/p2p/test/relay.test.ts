import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { until } from '@codio/testing'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { randomBytes } from 'node:crypto'
import type { P2PNode, P2PNodeInit } from '../src/index.js'
import { startTestNode, stopTestNodes } from '../src/testing.js'
import { echo, readAll, sendAll, within } from './util.js'

/** A generic test protocol: the listener echoes every byte back. */
const ECHO = '/codio/test/echo/1.0.0'
const MiB = 1024 * 1024

const isCircuit = (a: Multiaddr): boolean => a.toString().includes('/p2p-circuit')

describe('NAT traversal through circuit relay v2', () => {
  const nodes: P2PNode[] = []
  const start = async (init: Partial<P2PNodeInit> = {}): Promise<P2PNode> => await startTestNode(init, nodes)
  let relay: P2PNode
  let hidden: P2PNode

  beforeAll(async () => {
    relay = await start({ relayServer: { maxReservations: 4 } })
    // no listen address of its own: reachable only through its reservation on the relay
    hidden = await start({ listen: ['/p2p-circuit'], relayReservation: [relay.getMultiaddrs()[0].toString()] })
    await hidden.handle(ECHO, (stream) => { echo(stream) }, { runOnLimitedConnection: true })
  })

  afterAll(async () => {
    await stopTestNodes(nodes)
  })

  /** Send `size` random bytes to `target` on the echo protocol; returns the echoed bytes and the payload. */
  async function roundTrip (from: P2PNode, target: Multiaddr, size: number): Promise<{ sent: Uint8Array, got: Uint8Array }> {
    const stream = await from.dialProtocol(target, ECHO, { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })
    const sent = new Uint8Array(randomBytes(size))
    try {
      const [got] = await within(Promise.all([readAll(stream), sendAll(stream, sent).then(async () => { await stream.close() })]), 20_000, 'echo round trip')
      return { sent, got }
    } catch (err: any) {
      stream.abort(err)
      throw err
    }
  }

  it('a node without a dialable address gets a relay reservation and advertises only the circuit address', async () => {
    await until(() => hidden.getMultiaddrs().some(isCircuit), 15_000, 'relay reservation')
    const addrs = hidden.getMultiaddrs()
    expect(addrs.every(isCircuit)).toBe(true)
    expect(addrs[0].toString()).toContain(`/p2p/${relay.peerId.toString()}/p2p-circuit/p2p/${hidden.peerId.toString()}`)
    expect(relay.services.relay?.reservations.has(hidden.peerId)).toBe(true)
    expect(hidden.services.peers.get(relay.peerId)?.keepAlive).toBe(true)
  })

  it('a third node dials it through /p2p-circuit and moves 1.5 MiB each way over the relayed connection', async () => {
    await until(() => hidden.getMultiaddrs().some(isCircuit), 15_000, 'relay reservation')
    const dialer = await start()
    const target = hidden.getMultiaddrs().find(isCircuit)!
    const { sent, got } = await roundTrip(dialer, target, 1.5 * MiB)
    expect(got.length).toBe(sent.length)
    expect(Buffer.compare(got, sent)).toBe(0)
    const conn = dialer.getConnections(hidden.peerId)[0]
    expect(isCircuit(conn.remoteAddr)).toBe(true)
    // the relay lifted the spec's 128 KiB / 2 min cap, so the connection is not "limited"
    expect(conn.limits).toBeUndefined()
  })

  it('a relay configured with a data limit cuts the same transfer (the limit is real)', async () => {
    const capped = await start({ relayServer: { dataLimitBytes: 256 * 1024 } })
    const behind = await start({ listen: ['/p2p-circuit'], relayReservation: [capped.getMultiaddrs()[0].toString()] })
    await behind.handle(ECHO, (stream) => { echo(stream) }, { runOnLimitedConnection: true })
    await until(() => behind.getMultiaddrs().some(isCircuit), 15_000, 'reservation on the capped relay')
    const dialer = await start()
    const target = multiaddr(behind.getMultiaddrs().find(isCircuit)!.toString())
    expect(target.toString()).toContain(`/p2p/${capped.peerId.toString()}/p2p-circuit`)
    const conn = await dialer.dial(target)
    expect(conn.limits).toBeDefined() // a limited connection: handlers need runOnLimitedConnection
    // the relay cuts the circuit at 256 KiB: the round trip fails by that cut, not by this
    // test's own 20 s limit (which a relay that merely stalled would also reach)
    const t0 = Date.now()
    // the cut reaches the stream as an Error, or (through TLS over the circuit) as the stream's
    // close event: either way not this test's own timeout
    const err = await roundTrip(dialer, target, 1.5 * MiB).then(() => undefined, (e: Error | Event) => e)
    expect(err).toBeDefined()
    if (err instanceof Error) expect(err.message).not.toMatch(/echo round trip took more than/)
    else expect(err!.type).toBe('close')
    expect(Date.now() - t0).toBeLessThan(20_000)
    await until(() => conn.status !== 'open', 10_000, 'the relay to close the capped circuit')
  })

  it('renews the reservation after the relay restarts on the same key and port', async () => {
    const key = await generateKeyPair('Ed25519')
    let r = await startTestNode({ privateKey: key, relayServer: true })
    const addr = r.getMultiaddrs()[0].toString()
    const port = addr.match(/\/tcp\/(\d+)/)![1]
    const client = await start({ listen: ['/p2p-circuit'], relayReservation: [addr], reconnect: { initialDelayMs: 200, maxDelayMs: 1_000 } })
    try {
      await until(() => client.getMultiaddrs().some(isCircuit), 15_000, 'first reservation')
      await r.stop()
      await until(() => !client.getMultiaddrs().some(isCircuit), 10_000, 'reservation dropped with the relay')
      r = await startTestNode({ privateKey: key, relayServer: true, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
      await until(() => client.getMultiaddrs().some(isCircuit), 15_000, 'reservation renewed on the restarted relay')
      expect(r.services.relay?.reservations.has(client.peerId)).toBe(true)
    } finally {
      await r.stop()
    }
  })
})
