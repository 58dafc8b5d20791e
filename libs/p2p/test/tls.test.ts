/**
 * libp2p TLS with one certificate per node and remembered checks (CachingTls): Codio nodes
 * handshake with it both ways; a stock `@libp2p/tls` node interoperates in both directions; a
 * node presents the same certificate on every connection, so its peer checks it once; a dial
 * that names another peer ID is refused.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { tls } from '@libp2p/tls'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { until } from '@codio/testing'
import { CachingTls, TLS_PROTOCOL } from '../src/index.js'

type Node = Libp2p<{ ping: ReturnType<ReturnType<typeof ping>> }>

describe('TLS with one certificate per node (CachingTls)', () => {
  const nodes: Node[] = []
  afterAll(async () => { await Promise.all(nodes.map(async n => await n.stop())) })

  /** A node with CachingTls (its instance returned) or stock @libp2p/tls. */
  async function start (kind: 'caching' | 'stock'): Promise<{ node: Node, tls?: CachingTls }> {
    let instance: CachingTls | undefined
    const node = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [kind === 'caching' ? (c: any) => (instance = new CachingTls(c)) : tls()],
      streamMuxers: [yamux()],
      connectionManager: { inboundConnectionThreshold: 1000 },
      services: { identify: identify(), ping: ping() }
    }) as unknown as Node
    nodes.push(node)
    return { node, tls: instance }
  }

  it('connects two caching nodes; the dialer\'s certificate is checked once however often it connects', async () => {
    const a = await start('caching')
    const b = await start('caching')
    for (let i = 0; i < 3; i++) {
      const conn = await b.node.dial(a.node.getMultiaddrs()[0])
      expect(conn.encryption).toBe(TLS_PROTOCOL)
      expect(conn.remotePeer.equals(a.node.peerId)).toBe(true)
      expect(await b.node.services.ping.ping(a.node.getMultiaddrs()[0])).toBeGreaterThanOrEqual(0)
      await conn.close()
    }
    // one certificate each: a remembered b's once, b remembered a's once
    expect(a.tls!.rememberedCertificates).toBe(1)
    expect(b.tls!.rememberedCertificates).toBe(1)
  })

  it('interoperates with stock @libp2p/tls both ways (its fresh certificate per connection checked each time)', async () => {
    const ours = await start('caching')
    const stock = await start('stock')
    for (const [from, to] of [[stock.node, ours.node], [ours.node, stock.node]] as const) {
      // the other direction's connection is closed at both ends first: a dial would reuse it
      await until(() => from.getConnections(to.peerId).length === 0 && to.getConnections(from.peerId).length === 0, 5000, 'the earlier connection to close')
      const conn = await from.dial(to.getMultiaddrs()[0])
      expect(conn.encryption).toBe(TLS_PROTOCOL)
      expect(await from.services.ping.ping(to.getMultiaddrs()[0])).toBeGreaterThanOrEqual(0)
      await conn.close()
    }
    expect(ours.tls!.rememberedCertificates).toBe(2)
  })

  it('refuses a connection whose certificate names another peer than the one dialled', async () => {
    const a = await start('caching')
    const b = await start('caching')
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const wrong = multiaddr(a.node.getMultiaddrs()[0].toString().replace(/\/p2p\/.*$/, `/p2p/${other.toString()}`))
    await expect(b.node.dial(wrong)).rejects.toThrow()
    // the certificate is now remembered: the refusal holds on a second try, from the cache
    await b.node.dial(a.node.getMultiaddrs()[0]).then(async c => await c.close())
    await expect(b.node.dial(wrong)).rejects.toThrow()
  })
})
