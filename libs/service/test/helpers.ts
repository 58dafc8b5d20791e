import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chunkCid, encodeManifest, manifestCid, signManifest, type CID } from '@codio/content'
import { loadNodeConfig } from '@codio/node-config'
import { CodioPeer, peerSettings } from '@codio/peer'
import { encodePublicKey, TrustedKeys, type PublisherKeyPair } from '@codio/signing'
import { createMetricsRegistry, type Logger, type Registry } from '@codio/telemetry'

/**
 * Put a one-chunk content of `size` bytes, each `fill`, signed by `kp`, in `peer`'s store and
 * mark it complete; its manifest CID.
 */
export async function publish (peer: CodioPeer, kp: PublisherKeyPair, size: number, fill: number): Promise<CID> {
  const chunk = new Uint8Array(size).fill(fill)
  await peer.store.put(chunkCid(chunk), chunk)
  const manifest = await signManifest({ version: 1, size, mediaType: 'application/octet-stream', chunkSize: 16_384, chunks: [chunkCid(chunk)], createdAt: Date.now(), publisher: kp.publicKey }, kp)
  const bytes = encodeManifest(manifest)
  const cid = manifestCid(bytes)
  await peer.store.put(cid, bytes)
  await peer.markComplete(cid)
  return cid
}

export interface TestEdge {
  /** The edge's layered configuration (data directory under a fresh temporary directory). */
  config: ReturnType<typeof loadNodeConfig<'edge'>>
  /** The started peer: loopback TCP, no QUIC. */
  peer: CodioPeer
  /** Stop the peer and remove the temporary directory. */
  stop: () => Promise<void>
}

/**
 * A real edge peer over a layered configuration in a new temporary directory (`prefix` for
 * mkdtemp) that trusts the publisher keys of `trusted`, with a 500 ms lookup timeout.
 */
export async function startEdge (opts: { prefix: string, trusted: PublisherKeyPair[], log: Logger, registry?: Registry }): Promise<TestEdge> {
  const dir = await mkdtemp(join(tmpdir(), opts.prefix))
  let peer: CodioPeer | undefined
  const stop = async (): Promise<void> => {
    await peer?.stop()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    const config = loadNodeConfig('edge', { env: { CODIO_DATA_DIR: join(dir, 'edge'), CODIO_FETCH__LOOKUP_TIMEOUT: '500ms', CODIO_TRUST__PUBLISHER_KEYS: JSON.stringify(opts.trusted.map(kp => encodePublicKey(kp.publicKey))) } })
    const c = config.current
    peer = await CodioPeer.create({ role: 'edge', ...peerSettings(c), listen: ['/ip4/127.0.0.1/tcp/0'], quic: false, trustedKeys: new TrustedKeys(c.trust.publisherKeys), log: opts.log, registry: opts.registry ?? createMetricsRegistry({ role: 'edge', processMetrics: false }) })
    await peer.start()
    return { config, peer, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
