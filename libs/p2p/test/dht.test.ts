import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { until } from '@codio/testing'
import { loadOrCreatePeerKey, PeerKeyFileError, type P2PNode } from '../src/index.js'
import { startTestNode, stopTestNodes } from '../src/testing.js'

describe('p2p node', () => {
  const nodes: P2PNode[] = []

  beforeAll(async () => {
    // QUIC on: the tests below listen and dial over QUIC-v1
    const boot = await startTestNode({ quic: true }, nodes)
    const bootAddr = boot.getMultiaddrs().find(a => a.toString().includes('/tcp/'))!.toString()
    for (let i = 0; i < 2; i++) {
      await startTestNode({ quic: true, bootstrap: [bootAddr] }, nodes)
    }
    await until(() => nodes.slice(1).every(n => n.getConnections(boot.peerId).length > 0), 15_000, 'bootstrap connections')
    // the DHT routing tables fill once identify has run over the bootstrap connections
    await until(async () => nodes.every(n => n.services.dht.routingTable.size > 0), 15_000, 'routing tables non-empty')
  })

  afterAll(async () => {
    await stopTestNodes(nodes)
  })

  it('listens on TCP and QUIC-v1 on loopback', () => {
    const addrs = nodes[0].getMultiaddrs().map(a => a.toString())
    expect(addrs.some(a => a.startsWith('/ip4/127.0.0.1/tcp/'))).toBe(true)
    expect(addrs.some(a => a.includes('/quic-v1'))).toBe(true)
  })

  it('one node provides a CID and another finds it through the DHT', async () => {
    const cid = CID.createV1(0x55, await sha256.digest(new TextEncoder().encode(`p2p test ${Date.now()}`)))
    await nodes[1].contentRouting.provide(cid)
    const found: string[] = []
    for await (const p of nodes[2].contentRouting.findProviders(cid, { signal: AbortSignal.timeout(10_000) })) {
      found.push(p.id.toString())
      break
    }
    expect(found).toEqual([nodes[1].peerId.toString()])
  })

  it('dials a peer over QUIC-v1', async () => {
    const quicAddr = nodes[2].getMultiaddrs().find(a => a.toString().includes('/quic-v1'))!
    const fresh = await startTestNode({ quic: true })
    try {
      const rtt = await fresh.services.ping.ping(quicAddr)
      expect(rtt).toBeGreaterThanOrEqual(0)
      expect(fresh.getConnections(nodes[2].peerId)[0].remoteAddr.toString()).toContain('/quic-v1')
    } finally {
      await fresh.stop()
    }
  })
})

describe('peer key file', () => {
  it('creates a key once and loads the same identity after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codio-p2p-'))
    try {
      const a = await loadOrCreatePeerKey(join(dir, 'peer.key'))
      const b = await loadOrCreatePeerKey(join(dir, 'peer.key'))
      expect(b.equals(a)).toBe(true)
      await writeFile(join(dir, 'bad.key'), 'not a key')
      await expect(loadOrCreatePeerKey(join(dir, 'bad.key'))).rejects.toBeInstanceOf(PeerKeyFileError)
      // a PEM PKCS#8 Ed25519 key (a Kubernetes Secret, Helm's genPrivateKey) gives the identity of its seed
      const { generateKeyPairSync } = await import('node:crypto')
      const { privateKey } = generateKeyPairSync('ed25519')
      await writeFile(join(dir, 'peer.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }))
      const fromPem = await loadOrCreatePeerKey(join(dir, 'peer.pem'))
      expect(Buffer.from(fromPem.publicKey.raw)).toEqual(Buffer.from(privateKey.export({ format: 'jwk' }).x!, 'base64url'))
      expect((await loadOrCreatePeerKey(join(dir, 'peer.pem'))).equals(fromPem)).toBe(true)
      await writeFile(join(dir, 'ec.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }))
      await expect(loadOrCreatePeerKey(join(dir, 'ec.pem'))).rejects.toThrow(/not Ed25519/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
