import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chunkCid, encodeManifest, manifestCid, signManifest, type CID } from '@codio/content'
import { loadNodeConfig } from '@codio/node-config'
import { CodioPeer, peerSettings } from '@codio/peer'
import { encodePublicKey, generateKeyPair, TrustedKeys, type PublisherKeyPair } from '@codio/signing'
import { createLogger, createMetricsRegistry } from '@codio/telemetry'
import { nodeConfigBackend, type NodeConfigBackend } from '../src/config-backend.js'

// The config backend over a real peer and a layered configuration: what the cluster layer
// (the fleet's document) changes is applied like a node's own update.

async function publish (peer: CodioPeer, kp: PublisherKeyPair, size: number): Promise<CID> {
  const chunk = new Uint8Array(size).fill(7)
  await peer.store.put(chunkCid(chunk), chunk)
  const manifest = await signManifest({ version: 1, size, mediaType: 'application/octet-stream', chunkSize: 16_384, chunks: [chunkCid(chunk)], createdAt: Date.now(), publisher: kp.publicKey }, kp)
  const bytes = encodeManifest(manifest)
  const cid = manifestCid(bytes)
  await peer.store.put(cid, bytes)
  await peer.markComplete(cid)
  return cid
}

describe('nodeConfigBackend', () => {
  let dir: string
  let peer: CodioPeer
  let backend: NodeConfigBackend
  let a: PublisherKeyPair
  let b: PublisherKeyPair
  const log = createLogger({ name: 'config-backend-test', level: 'silent', destination: '/dev/null' })
  let config: ReturnType<typeof loadNodeConfig<'edge'>>

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codio-config-backend-'))
    a = await generateKeyPair()
    b = await generateKeyPair()
    config = loadNodeConfig('edge', { env: { CODIO_DATA_DIR: join(dir, 'edge'), CODIO_FETCH__LOOKUP_TIMEOUT: '500ms', CODIO_TRUST__PUBLISHER_KEYS: JSON.stringify([encodePublicKey(a.publicKey), encodePublicKey(b.publicKey)]) } })
    const c = config.current
    peer = await CodioPeer.create({ role: 'edge', ...peerSettings(c), listen: ['/ip4/127.0.0.1/tcp/0'], quic: false, trustedKeys: new TrustedKeys(c.trust.publisherKeys), log, registry: createMetricsRegistry({ role: 'edge', processMetrics: false }) })
    await peer.start()
    backend = await nodeConfigBackend({ config, peer, log })
    backend.started()
  })

  afterAll(async () => {
    backend?.close()
    await peer?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('applies a cluster document live: rates, log level, and a revocation that purges the key\'s content', async () => {
    const fromA = await publish(peer, a, 1000)
    const fromB = await publish(peer, b, 2000)
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
