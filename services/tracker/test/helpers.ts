import { randomBytes } from 'node:crypto'
import { createLogger } from '@codio/telemetry'
import { fullBitfield, GossipPublisher, type NodeMetrics } from '@codio/tracker'
import { createTracker, trackerConfigSchema, type Tracker, type TrackerConfig } from '../src/index.js'

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
const pick = (alphabet: string, n: number): string => [...randomBytes(n)].map(b => alphabet[b % alphabet.length]).join('')

/** Strings shaped like a libp2p peer ID and a CIDv1. */
export const peerId = (): string => `12D3KooW${pick(B58, 44)}`
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

/** A node's gossip: holds `contents` completely, served `served` chunks and failed `failed`. */
export function node (natsUrl: string, id: string, contents: string[], counters: Partial<NodeMetrics> = {}): GossipPublisher {
  const p = new GossipPublisher({
    nats: natsUrl,
    peerId: id,
    roles: ['edge'],
    multiaddrs: () => [`/ip4/127.0.0.1/tcp/4001/p2p/${id}`],
    availability: () => contents.map(contentId => ({ contentId, chunkCount: 32, bitfield: fullBitfield(32) })),
    metrics: () => ({ uptimeSeconds: 3600, chunksServed: 100, chunksFailed: 0, bytesServed: 100 << 20, ...counters }),
    intervalMs: 200,
    debounceMs: 10
  })
  p.start()
  return p
}

export async function until (check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

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
