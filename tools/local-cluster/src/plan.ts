import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { loadOrCreatePeerKey } from '@codio/p2p'
import { freePort, freeUdpPort } from '@codio/sidecars'
import { encodePublicKey, loadOrCreateKeyPair } from '@codio/signing'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { ServiceLaunch } from './services.js'

/** A node of the cluster: an origin, a relay or an edge. */
export interface PlannedNode extends ServiceLaunch {
  role: 'origin' | 'relay' | 'edge'
  dataDir: string
  peerId: string
  /** Its TCP and QUIC listen addresses with `/p2p/<peerId>`. */
  multiaddrs: string[]
  /** Base URLs of its HTTP and admin APIs. */
  http: string
  admin: string
}

/** Every node of a cluster, configured to find each other, and the key they all trust. */
export interface ClusterPlan {
  relays: PlannedNode[]
  origin: PlannedNode
  edges: PlannedNode[]
  /** Relays, origin, edges: the order they start and cluster.json lists them. */
  all: PlannedNode[]
  /** The publisher's public key (base64url Ed25519), from `<dir>/publisher.jwk`. */
  publisherKey: string
}

/**
 * One node in `<dir>/<role>-<index>`: its peer key (kept across runs), free loopback ports
 * (TCP and QUIC for libp2p, HTTP, admin; below the ephemeral range, see `freePort` of
 * `@codio/sidecars`) and its settings.
 */
async function planNode (dir: string, role: PlannedNode['role'], index: number, logLevel: string): Promise<PlannedNode> {
  const name = `${role}-${index}`
  const dataDir = join(dir, name)
  await mkdir(dataDir, { recursive: true })
  const peerId = peerIdFromPrivateKey(await loadOrCreatePeerKey(join(dataDir, 'peer.key'))).toString()
  const [tcp, udp, http, admin] = [await freePort(), await freeUdpPort(), await freePort(), await freePort()]
  const listen = [`/ip4/127.0.0.1/tcp/${tcp}`, `/ip4/127.0.0.1/udp/${udp}/quic-v1`]
  return {
    role,
    name,
    dataDir,
    configPath: join(dataDir, 'config.toml'),
    logPath: join(dir, 'logs', `${name}.log`),
    peerId,
    multiaddrs: listen.map(a => `${a}/p2p/${peerId}`),
    http: `http://127.0.0.1:${http}`,
    admin: `http://127.0.0.1:${admin}`,
    config: {
      name,
      dataDir,
      logLevel,
      http: { host: '127.0.0.1', port: http },
      admin: { host: '127.0.0.1', port: admin },
      p2p: { listen }
    }
  }
}

/**
 * Plan `relays` relays, one origin and `edges` edges under `dir`: the relays bootstrap from each
 * other and every other node from the relays (by their TCP address); the origin signs with
 * `<dir>/publisher.jwk` (created on first use) and every node trusts its public key.
 */
export async function planCluster (dir: string, counts: { edges: number, relays: number }, logLevel: string): Promise<ClusterPlan> {
  const keyFile = join(dir, 'publisher.jwk')
  const publisherKey = encodePublicKey((await loadOrCreateKeyPair(keyFile)).keyPair.publicKey)
  const relays: PlannedNode[] = []
  for (let i = 1; i <= counts.relays; i++) relays.push(await planNode(dir, 'relay', i, logLevel))
  const origin = await planNode(dir, 'origin', 1, logLevel)
  const edges: PlannedNode[] = []
  for (let i = 1; i <= counts.edges; i++) edges.push(await planNode(dir, 'edge', i, logLevel))

  const relayAddrs = relays.map(r => r.multiaddrs[0])
  for (const r of relays) r.config.p2p = { ...(r.config.p2p as object), bootstrap: relayAddrs.filter(a => !r.multiaddrs.includes(a)) }
  for (const p of [origin, ...edges]) p.config.p2p = { ...(p.config.p2p as object), bootstrap: relayAddrs }
  origin.config.publisher = { keyFile }
  const all = [...relays, origin, ...edges]
  for (const p of all) p.config.trust = { publisherKeys: [publisherKey] }
  return { relays, origin, edges, all, publisherKey }
}
