import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { until } from '@codio/testing'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { DhtManager, type DhtManagerInit } from '../src/index.js'

export async function randomCid (): Promise<CID> {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return CID.createV1(0x55, await sha256.digest(bytes))
}

/** The node's TCP multiaddr without its /p2p suffix, as provider and peer records carry it. */
export function tcpAddr (node: P2PNode): string {
  return dialAddr(node).replace(/\/p2p\/[^/]+$/, '')
}

/** The node's full TCP multiaddr, /p2p/<id> included (for bootstrap lists and dials). */
export function dialAddr (node: P2PNode): string {
  const addr = node.getMultiaddrs().find(a => a.toString().includes('/tcp/'))
  if (addr == null) throw new Error('node has no TCP address')
  return addr.toString()
}

export interface Cluster {
  nodes: P2PNode[]
  managers: DhtManager[]
  stop: () => Promise<void>
}

/**
 * Starts `n` real nodes on loopback TCP (no QUIC): node 0 first, every other node bootstrapped
 * to it. Each gets a DhtManager (not started). Waits until every node is connected to node 0
 * and has a non-empty routing table.
 */
export async function startCluster (n: number, init: DhtManagerInit = {}): Promise<Cluster> {
  const nodes: P2PNode[] = []
  const cluster: Cluster = {
    nodes,
    managers: [],
    stop: async () => {
      cluster.managers.forEach(m => { m.stop() })
      await Promise.all(nodes.map(async node => node.stop()))
    }
  }
  try {
    const boot = await startTestNode({}, nodes)
    const bootAddr = dialAddr(boot)
    for (let i = 1; i < n; i++) {
      await startTestNode({ bootstrap: [bootAddr] }, nodes)
    }
    cluster.managers = nodes.map(node => new DhtManager(node, init))
    await until(() => nodes.slice(1).every(node => node.getConnections(boot.peerId).length > 0), 30_000, 'bootstrap connections')
    await until(() => nodes.every(node => node.services.dht.routingTable.size > 0), 30_000, 'routing tables non-empty')
    return cluster
  } catch (err) {
    await cluster.stop()
    throw err
  }
}
