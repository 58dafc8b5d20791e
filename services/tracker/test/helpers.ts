import { Bitfield } from '@codio/bitfield'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createLogger } from '@codio/telemetry'
import { GossipPublisher, type GossipPublisherInit, type NodeMetrics } from '@codio/tracker'
import { createTracker, trackerConfigSchema, type Tracker, type TrackerConfig } from '../src/index.js'
import { until } from '@codio/testing'

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
const pick = (alphabet: string, n: number): string => [...randomBytes(n)].map(b => alphabet[b % alphabet.length]).join('')

/** A fresh Ed25519 libp2p key (synchronously, from node:crypto). */
export function peerKey (): PrivateKey {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })
  return privateKeyFromRaw(Buffer.concat([Buffer.from(jwk.d!, 'base64url'), Buffer.from(jwk.x!, 'base64url')]))
}

const keys = new Map<string, PrivateKey>()

/** A real peer ID whose key {@link node} signs with (gossip must carry the named peer's signature). */
export function peerId (): string {
  const key = peerKey()
  const id = peerIdFromPrivateKey(key).toString()
  keys.set(id, key)
  return id
}
/** The key behind a peer ID made by {@link peerId}. */
export function peerKeyOf (id: string): PrivateKey {
  const key = keys.get(id)
  if (key == null) throw new Error(`${id} is not a peer ID made by peerId()`)
  return key
}
export const contentId = (): string => `bafkrei${pick(B32, 52)}`

export const silent = createLogger({ name: 'tracker-test', level: 'silent' })

/** A tracker on loopback ports chosen by the OS. */
export async function startTracker (natsUrl: string, redisUrl: string, extra: Record<string, unknown> = {}): Promise<Tracker & { config: TrackerConfig }> {
  const config = trackerConfigSchema.parse({
    http: { port: 0 },
    rpc: { port: 0 },
    nats: { servers: natsUrl },
    redis: { url: redisUrl, keyPrefix: `t${pick(B32, 8)}:`, commandTimeout: 300 },
    ...extra
  })
  const tracker = createTracker(config, silent)
  await tracker.start()
  return Object.assign(tracker, { config })
}

/** The gossip of node `id` (from {@link peerId}): holds `contents` completely, with `counters`. */
export function node (natsUrl: string, id: string, contents: string[], counters: Partial<NodeMetrics> = {}, natsOptions?: GossipPublisherInit['natsOptions']): GossipPublisher {
  const p = new GossipPublisher({
    nats: natsUrl,
    natsOptions,
    privateKey: peerKeyOf(id),
    roles: ['edge'],
    multiaddrs: () => [`/ip4/127.0.0.1/tcp/4001/p2p/${id}`],
    availability: () => contents.map(contentId => ({ contentId, chunkCount: 32, bitfield: Bitfield.full(32).toBytes() })),
    metrics: () => ({ uptimeSeconds: 3600, chunksServed: 100, chunksFailed: 0, bytesServed: 100 << 20, ...counters }),
    intervalMs: 200,
    debounceMs: 10
  })
  p.start()
  return p
}

export { until }

/** The value of a counter series in Prometheus text, summed over label sets matching `labels`. */
export function counter (text: string, name: string, labels = ''): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (labels !== '' && !line.includes(labels)) continue
    sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}
