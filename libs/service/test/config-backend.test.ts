import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { CodioPeer } from '@codio/peer'
import { encodePublicKey, generateKeyPair, type PublisherKeyPair } from '@codio/signing'
import { createLogger } from '@codio/telemetry'
import { nodeConfigBackend, type NodeConfigBackend } from '../src/config-backend.js'
import { publish, startEdge, type TestEdge } from './helpers.js'

// The config backend over a real peer and a layered configuration: what the cluster layer
// (the fleet's document) changes is applied like a node's own update.

describe('nodeConfigBackend', () => {
  let edge: TestEdge
  let peer: CodioPeer
  let backend: NodeConfigBackend
  let a: PublisherKeyPair
  let b: PublisherKeyPair
  const log = createLogger({ name: 'config-backend-test', level: 'silent', destination: '/dev/null' })
  let config: TestEdge['config']

  beforeAll(async () => {
    a = await generateKeyPair()
    b = await generateKeyPair()
    edge = await startEdge({ prefix: 'codio-config-backend-', trusted: [a, b], log })
    config = edge.config
    peer = edge.peer
    backend = await nodeConfigBackend({ config, peer, log })
    backend.started()
  })

  afterAll(async () => {
    backend?.close()
    await edge?.stop()
  })

  it('applies a cluster document live: rates, log level, and a revocation that purges the key\'s content', async () => {
    const fromA = await publish(peer, a, 1000, 7)
    const fromB = await publish(peer, b, 2000, 7)
    const r = await config.setClusterLayer({ swarm: { maxUploadRate: '2MB' }, logLevel: 'debug', trust: { revokedKeys: [encodePublicKey(b.publicKey)] } })
    expect(r.applied).toBe(true)
    expect(peer.swarm.upload.rate).toBe(2_000_000)
    expect(log.level).toBe('debug')
    const held = (await peer.store.listContents()).map(String)
    expect(held).toEqual([fromA.toString()])
    await expect(peer.resolve(fromB)).rejects.toMatchObject({ name: 'ContentNotFoundError' })
    const keys = await backend.calls.listKeys()
    expect(keys).toEqual(expect.arrayContaining([
      { publicKey: encodePublicKey(b.publicKey), revoked: true, source: 'cluster' },
      { publicKey: encodePublicKey(b.publicKey), revoked: true, source: 'file' }
    ]))
    const view = await backend.calls.getConfig()
    expect(view.sources.find(s => s.path === 'swarm.maxUploadRate')?.source).toBe('cluster')
    expect(view.sources.find(s => s.path === 'trust.publisherKeys')?.source).toBe('env')
  })

  it('refuses a malformed key with InvalidPublicKeyError, and an invalid cluster document keeps the previous one', async () => {
    await expect(backend.calls.trustKey('abc')).rejects.toMatchObject({ name: 'InvalidPublicKeyError' })
    const r = await config.setClusterLayer({ swarm: { maxUploadRate: 'plenty' } })
    expect(r.applied).toBe(false)
    expect(peer.swarm.upload.rate).toBe(2_000_000)
  })
})
