import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chunkCid, encodeManifest, manifestCid, signManifest, type Manifest } from '@codio/content'
import { FecEncoder } from '@codio/fec'
import { generateKeyPair, TrustedKeys, type PublisherKeyPair } from '@codio/signing'
import { createLogger, createMetricsRegistry } from '@codio/telemetry'
import type { CID } from 'multiformats/cid'
import { CodioPeer, type PeerInit } from '../src/peer.js'

export const CHUNK = 16_384

/** A signed content: its chunks, parity chunks (with `fec`), manifest and content ID. */
export interface TestContent {
  contentId: CID
  manifest: Manifest
  manifestBytes: Uint8Array
  chunks: Uint8Array[]
  parity: Uint8Array[]
}

/** Sign a content of `chunks` (each ≤ CHUNK bytes, all but the last exactly CHUNK) with `kp`. */
export async function makeContent (kp: PublisherKeyPair, chunks: Uint8Array[], fec?: { dataShards: number, parityShards: number }): Promise<TestContent> {
  const parity: Uint8Array[] = []
  const groups: Array<{ parity: CID[] }> = []
  if (fec != null) {
    const enc = new FecEncoder(fec)
    const add = (shards: Uint8Array[] | undefined): void => {
      if (shards == null) return
      parity.push(...shards)
      groups.push({ parity: shards.map(chunkCid) })
    }
    for (const c of chunks) add(await enc.push(c))
    add(await enc.flush())
  }
  const manifest = await signManifest({
    version: 1,
    size: chunks.reduce((n, c) => n + c.length, 0),
    mediaType: 'application/octet-stream',
    chunkSize: CHUNK,
    chunks: chunks.map(chunkCid),
    ...(fec != null ? { fec: { ...fec, groups } } : {}),
    createdAt: Date.now(),
    publisher: kp.publicKey
  }, kp)
  const manifestBytes = encodeManifest(manifest)
  return { contentId: manifestCid(manifestBytes), manifest, manifestBytes, chunks, parity }
}

export const randomChunks = (n: number): Uint8Array[] => Array.from({ length: n }, () => new Uint8Array(randomBytes(CHUNK)))

/** Put a content's blocks (parity included) into `peer`'s store and record it held, as an origin's ingest does. */
export async function publish (peer: CodioPeer, c: TestContent): Promise<void> {
  const all = [...c.chunks, ...c.parity]
  for (const b of all) await peer.store.put(chunkCid(b), b)
  await peer.store.put(c.contentId, c.manifestBytes)
  await peer.markComplete(c.contentId)
}

/** Peers on loopback TCP in a temporary directory, stopped and removed by `close`. */
export class Peers {
  readonly all: CodioPeer[] = []
  readonly kp: Promise<PublisherKeyPair> = generateKeyPair()
  private dir?: string

  async root (): Promise<string> {
    this.dir ??= await mkdtemp(join(tmpdir(), 'codio-peer-ops-'))
    return this.dir
  }

  /** A started peer named `name` (its data directory `<root>/<name>`, kept across restarts). */
  async start (name: string, init: Partial<PeerInit> = {}): Promise<CodioPeer> {
    const kp = await this.kp
    const p = await CodioPeer.create({
      role: 'edge',
      dataDir: join(await this.root(), name),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      quic: false,
      trustedKeys: new TrustedKeys([kp.publicKey]),
      lookupTimeoutMs: 5000,
      requestTimeoutMs: 5000,
      log: createLogger({ name, level: 'silent' }),
      registry: createMetricsRegistry({ role: init.role ?? 'edge', processMetrics: false }),
      ...init
    })
    await p.start()
    this.all.push(p)
    return p
  }

  async stop (p: CodioPeer): Promise<void> {
    this.all.splice(this.all.indexOf(p), 1)
    await p.stop()
  }

  async close (): Promise<void> {
    await Promise.allSettled(this.all.splice(0).map(async p => await p.stop()))
    if (this.dir != null) await rm(this.dir, { recursive: true, force: true })
  }
}

/** `peer`'s first listen address with its peer ID, for a bootstrap list. */
export const addrOf = (peer: CodioPeer): string => peer.node.getMultiaddrs()[0].toString()
