import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { until } from '@codio/testing'

/*
 * mDNS needs a multicast-capable link. The host's loopback has none, and its only other link
 * leads off the machine, so the peers run as child processes in network namespaces of their
 * own, joined by a bridge in a fifth namespace (10.77.0.0/24): real multicast between "hosts",
 * and no packet leaves the sandbox. Needs root and iproute2 (fails without them). The child
 * script imports the built package (`npm run build` first).
 */

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'mdns-peer.mjs')
const PREFIX = `cdm${process.pid % 100_000}`
const BRIDGE_NS = `${PREFIX}-br`
const OTHER_TAG = '_codio-other._udp.local'

function canUseNetns (): boolean {
  if (process.getuid?.() !== 0) return false
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

const ip = (...args: string[]): void => { execFileSync('ip', args, { stdio: 'pipe' }) }

interface Peer {
  ns: string
  child: ChildProcess
  peerId?: string
  connected: string[]
  table: string[]
  exited: boolean
}

function launch (i: number, tag?: string): Peer {
  const ns = `${PREFIX}-${i}`
  const args = ['netns', 'exec', ns, process.execPath, FIXTURE, `10.77.0.${i}`, '500', ...(tag != null ? [tag] : [])]
  const child = spawn('ip', args, { stdio: ['pipe', 'pipe', 'inherit'] })
  const peer: Peer = { ns, child, connected: [], table: [], exited: false }
  createInterface({ input: child.stdout! }).on('line', line => {
    try {
      const msg = JSON.parse(line)
      if (msg.event === 'started') peer.peerId = msg.peerId
      if (msg.event === 'peers') {
        peer.connected = msg.connected
        peer.table = msg.table
      }
    } catch {}
  })
  child.on('exit', () => { peer.exited = true })
  return peer
}

describe('mDNS discovery on a LAN', () => {
  const peers: Peer[] = []
  const namespaces: string[] = []

  beforeAll(() => {
    // .ci/run installs iproute2; without it (or root) this fails rather than passing unseen
    if (!canUseNetns()) throw new Error('the mDNS test needs root and iproute2 (ip netns) to build its network namespaces')
    ip('netns', 'add', BRIDGE_NS)
    namespaces.push(BRIDGE_NS)
    ip('-n', BRIDGE_NS, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', BRIDGE_NS, 'link', 'set', 'br0', 'up')
    for (let i = 1; i <= 4; i++) {
      const ns = `${PREFIX}-${i}`
      ip('netns', 'add', ns)
      namespaces.push(ns)
      ip('link', 'add', `v${i}`, 'netns', ns, 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', BRIDGE_NS)
      ip('-n', ns, 'addr', 'add', `10.77.0.${i}/24`, 'dev', `v${i}`)
      ip('-n', ns, 'link', 'set', 'lo', 'up')
      ip('-n', ns, 'link', 'set', `v${i}`, 'up')
      // multicast leaves through the LAN link (the namespace has no default route)
      ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', `v${i}`)
      ip('-n', BRIDGE_NS, 'link', 'set', `p${i}`, 'master', 'br0')
      ip('-n', BRIDGE_NS, 'link', 'set', `p${i}`, 'up')
    }
    // three peers on Codio's service tag, a fourth on another tag
    for (let i = 1; i <= 3; i++) peers.push(launch(i))
    peers.push(launch(4, OTHER_TAG))
  })

  afterAll(async () => {
    for (const p of peers) p.child.stdin?.end('stop\n')
    await until(() => peers.every(p => p.exited), 10_000, 'the peers to exit').catch(() => {
      for (const p of peers) if (!p.exited) p.child.kill('SIGKILL')
    })
    for (const ns of namespaces.reverse()) {
      try { ip('netns', 'del', ns) } catch {}
    }
  })

  it('three peers find each other over multicast DNS and connect; a peer on another service tag stays apart', async () => {
    await until(() => peers.every(p => p.peerId != null), 20_000, 'peers started')
    const [a, b, c, other] = peers
    const trio = [a, b, c]
    const others = (p: Peer): string[] => trio.filter(q => q !== p).map(q => q.peerId!).sort()
    await until(() => trio.every(p => others(p).every(id => p.connected.includes(id))), 30_000, 'all three connected')
    for (const p of trio) {
      expect([...p.connected].sort()).toEqual(others(p))
      expect([...p.table].sort()).toEqual(others(p)) // the peer table saw the same connections
    }
    expect(other.connected).toEqual([])
    expect(trio.some(p => p.connected.includes(other.peerId!))).toBe(false)
  })
})
