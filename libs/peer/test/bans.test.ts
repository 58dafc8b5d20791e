/**
 * Peer bans on real peers (libp2p over loopback TCP, on-disk data directories) and through
 * the admin API over a real HTTP connection: a ban closes the peer's connections and refuses
 * new ones both ways, nothing is served to it or asked of it, an unban restores it, node bans
 * survive a restart, timed bans lift by themselves, cluster bans are replaced whole and are
 * not lifted by a node unban.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { Code, ConnectError, createClient } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'
import { AdminService } from '@codio/proto'
import { startAdminServer, type AdminServer } from '@codio/admin'
import { chunkCid } from '@codio/content'
import { chunkExchange, swarmSessions, type ChunkExchange, type SwarmSessions } from '@codio/exchange'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { BlockStore } from '@codio/store'
import { BanList } from '../src/bans.js'
import { peerAdminBackend } from '../src/admin-backend.js'
import type { CodioPeer } from '../src/peer.js'
import { addrOf, makeContent, Peers, publish, randomChunks, type TestContent } from './content.js'
import { until } from '@codio/testing'

type Node = P2PNode<{ exchange: ChunkExchange, sessions: SwarmSessions }>

const connected = (a: CodioPeer, b: CodioPeer): boolean => a.node.getConnections(b.peerId).length > 0
const dial = async (from: CodioPeer, to: CodioPeer): Promise<unknown> => await from.node.dial(multiaddr(addrOf(to))).then(() => undefined, (err: Error) => err)

/**
 * Whether `to` refuses a connection from `from`: the dial fails, or (the dialler's side of an
 * upgrade may finish before the refusal reaches it) the connection dies at once without `to`
 * ever having opened it.
 */
async function refused (from: CodioPeer, to: CodioPeer): Promise<boolean> {
  let opened = false
  const onOpen = (evt: CustomEvent<{ remotePeer: { equals: (p: unknown) => boolean } }>): void => { if (evt.detail.remotePeer.equals(from.peerId)) opened = true }
  to.node.addEventListener('connection:open', onOpen as any)
  try {
    const failed = await dial(from, to)
    if (failed == null) await until(() => !connected(from, to), 3000, 'the refused connection to die')
    return !opened && !connected(to, from)
  } finally {
    to.node.removeEventListener('connection:open', onOpen as any)
  }
}

describe('peer bans', () => {
  const peers = new Peers()
  let a: CodioPeer
  let b: CodioPeer
  let c: CodioPeer
  let content: TestContent
  let admin: AdminServer
  let client: ReturnType<typeof createClient<typeof AdminService>>

  beforeAll(async () => {
    content = await makeContent(await peers.kp, randomChunks(3))
    a = await peers.start('a', { role: 'origin' })
    b = await peers.start('b', { bootstrap: [addrOf(a)] })
    c = await peers.start('c', { bootstrap: [addrOf(a)] })
    await publish(a, content)
    await until(() => connected(a, b) && connected(a, c), 15_000, 'b and c to connect to a')
    await serveAdmin()
  })

  /** The admin API of `a` (again after a restart) on a real HTTP port. */
  async function serveAdmin (): Promise<void> {
    await admin?.close()
    admin = await startAdminServer({ backend: peerAdminBackend(a, 'test') })
    client = createClient(AdminService, createConnectTransport({ baseUrl: admin.url, httpVersion: '1.1' }))
  }

  afterAll(async () => {
    await admin?.close()
    await peers.close()
  })

  it('closes the connection at once, refuses redials both ways, serves nothing, and an unban restores it', async () => {
    const chunk = chunkCid(content.chunks[0])
    expect(await b.exchange.fetch(a.peerId, chunk)).toEqual(content.chunks[0])

    const r = await client.banPeer({ peerId: b.peerId.toString(), reason: 'leeching', durationSeconds: 0 })
    expect(r.connectionsClosed).toBeGreaterThanOrEqual(1)
    expect(connected(a, b)).toBe(false)
    await until(() => !connected(b, a), 15_000, 'b to see the connection closed')

    // new connections are refused from either side (b keeps a alive: it redials on its own too)
    expect(await dial(a, b)).toBeInstanceOf(Error)
    expect(await refused(b, a)).toBe(true)
    expect(connected(a, b)).toBe(false)
    // b cannot get a chunk; a does not ask b for one
    await expect(b.exchange.fetch(a.peerId, chunk)).rejects.toThrow()
    await expect(a.exchange.fetch(b.peerId, chunk)).rejects.toMatchObject({ name: 'PeerDeniedError' })
    // c, not banned, is served as before
    expect(await c.exchange.fetch(a.peerId, chunk)).toEqual(content.chunks[0])

    const bans = (await client.listBans({})).bans
    expect(bans).toHaveLength(1)
    expect(bans[0]).toMatchObject({ peerId: b.peerId.toString(), reason: 'leeching', expiresMs: 0n, scope: 'node' })

    expect((await client.unbanPeer({ peerId: b.peerId.toString() })).lifted).toBe(true)
    expect((await client.unbanPeer({ peerId: b.peerId.toString() })).lifted).toBe(false)
    expect(await dial(b, a)).toBeUndefined()
    expect(await b.exchange.fetch(a.peerId, chunk)).toEqual(content.chunks[0])
    expect((await client.listBans({})).bans).toEqual([])
  })

  it('refuses malformed peer IDs, this node itself and bad durations with InvalidArgument', async () => {
    const code = async (p: Promise<unknown>): Promise<Code | undefined> => await p.then(() => undefined, (e: unknown) => ConnectError.from(e).code)
    expect(await code(client.banPeer({ peerId: 'not-a-peer', reason: '' }))).toBe(Code.InvalidArgument)
    expect(await code(client.banPeer({ peerId: '', reason: '' }))).toBe(Code.InvalidArgument)
    expect(await code(client.banPeer({ peerId: a.peerId.toString(), reason: 'self' }))).toBe(Code.InvalidArgument)
    expect(await code(client.banPeer({ peerId: b.peerId.toString(), reason: 'x'.repeat(5000) }))).toBe(Code.InvalidArgument)
    expect(await code(client.unbanPeer({ peerId: 'QmNope' }))).toBe(Code.InvalidArgument)
    await expect(a.bans.ban(b.peerId.toString(), '', -1)).rejects.toMatchObject({ name: 'InvalidBanError' })
    await expect(a.bans.ban(b.peerId.toString(), '', 1.5)).rejects.toMatchObject({ name: 'InvalidBanError' })
    expect(a.bans.list()).toEqual([])
  })

  it('lifts a timed ban by itself when it expires', async () => {
    await a.bans.ban(c.peerId.toString(), 'one second', 1)
    expect(a.bans.isBanned(c.peerId)).toBe(true)
    expect(await refused(c, a)).toBe(true)
    const ban = a.bans.list()[0]
    expect(ban.expiresMs - ban.createdMs).toBe(1000)
    await until(() => !a.bans.isBanned(c.peerId), 3000, 'the ban to expire')
    expect(a.bans.list()).toEqual([])
    expect(await dial(c, a)).toBeUndefined()
  })

  it('keeps node bans across a restart (bans.json, reloaded at start)', async () => {
    const d = await peers.start('d')
    const dId = d.peerId.toString()
    await a.bans.ban(dId, 'persisted', 0)
    await a.bans.ban(c.peerId.toString(), 'short', 3600)
    const file = JSON.parse(await readFile(join(await peers.root(), 'a', 'bans.json'), 'utf8'))
    expect(file.bans.map((x: { peerId: string }) => x.peerId).sort()).toEqual([dId, c.peerId.toString()].sort())

    await peers.stop(a)
    a = await peers.start('a', { role: 'origin' })
    expect(a.bans.list().map(x => [x.peerId, x.reason, x.scope]).sort()).toEqual([[dId, 'persisted', 'node'], [c.peerId.toString(), 'short', 'node']].sort())
    expect(await refused(d, a)).toBe(true)
    await a.bans.unban(dId)
    await a.bans.unban(c.peerId.toString())
    expect(await dial(d, a)).toBeUndefined()

    // a ban file that is not one stops the start: the node does not run without its bans
    await peers.stop(a)
    await writeFile(join(await peers.root(), 'a', 'bans.json'), '{"version":1,"bans":[{"peerId":"garbage"}]}')
    await expect(peers.start('a', { role: 'origin' })).rejects.toMatchObject({ name: 'BanFileError' })
    await writeFile(join(await peers.root(), 'a', 'bans.json'), '{"version":1,"bans":[]}')
    a = await peers.start('a', { role: 'origin' })
    await serveAdmin()
  })

  it('takes the cluster list whole; a node unban does not lift a cluster ban', async () => {
    await publish(a, content)
    await a.node.dial(multiaddr(addrOf(b)))
    const r = await a.bans.setClusterBans([{ peerId: b.peerId.toString(), reason: 'fleet', createdMs: 1n, expiresMs: 0n }, { peerId: 'garbage' }, { peerId: a.peerId.toString() }])
    expect(r).toEqual({ banned: [b.peerId.toString()], skipped: ['garbage', a.peerId.toString()] })
    expect(connected(a, b)).toBe(false)
    expect(await refused(b, a)).toBe(true)
    expect((await client.listBans({})).bans).toEqual([expect.objectContaining({ peerId: b.peerId.toString(), scope: 'cluster', reason: 'fleet' })])
    expect((await client.unbanPeer({ peerId: b.peerId.toString() })).lifted).toBe(false)
    expect(a.bans.isBanned(b.peerId)).toBe(true)

    await a.bans.setClusterBans([])
    expect(a.bans.isBanned(b.peerId)).toBe(false)
    expect(await dial(b, a)).toBeUndefined()
  })
})

describe('a connection that slips past the gater (opened before the ban)', () => {
  it('is refused at the protocol level: no chunk served to the peer, none asked of it, no session', async () => {
    const peers = new Peers()
    const store = await BlockStore.open(join(await peers.root(), 'store'))
    const bytes = new Uint8Array(randomChunks(1)[0])
    const cid = chunkCid(bytes)
    await store.put(cid, bytes)
    const denied = new Set<string>()
    let served = 0
    const make = async (): Promise<Node> => await startTestNode<{ exchange: ChunkExchange, sessions: SwarmSessions }>({
      services: {
        exchange: chunkExchange({ blocks: store, denied: p => denied.has(p.toString()), onServed: () => { served++ } }),
        sessions: swarmSessions({ denied: p => denied.has(p.toString()) })
      }
    })
    const [server, client] = [await make(), await make()]
    try {
      server.services.sessions.setHost({ bitfield: async () => new Uint8Array(1), onInboundSession: () => {} })
      await client.dial(server.getMultiaddrs()[0])
      expect(await client.services.exchange.fetch(server.peerId, cid)).toEqual(bytes)
      expect(served).toBe(1)

      // banned on the serving side only, with the connection left open
      denied.add(client.peerId.toString())
      expect(client.getConnections(server.peerId)).toHaveLength(1)
      await expect(client.services.exchange.fetch(server.peerId, cid)).rejects.toThrow()
      await expect(client.services.exchange.has(server.peerId, cid)).rejects.toThrow()
      await expect(client.services.sessions.open(server.peerId, cid, new Uint8Array(1))).rejects.toThrow()
      expect(served).toBe(1)
      // and the server asks nothing of it
      await expect(server.services.exchange.fetch(client.peerId, cid)).rejects.toMatchObject({ name: 'PeerDeniedError' })
      await expect(server.services.sessions.open(client.peerId, cid, new Uint8Array(1))).rejects.toMatchObject({ name: 'PeerDeniedError' })

      denied.clear()
      expect(await client.services.exchange.fetch(server.peerId, cid)).toEqual(bytes)
      expect(served).toBe(2)
    } finally {
      await Promise.all([server.stop(), client.stop()])
      await store.close()
      await peers.close()
    }
  })
})

describe('BanList', () => {
  it('honours expiry by its clock, and drops expired bans from the file at the next write', async () => {
    const peers = new Peers()
    const file = join(await peers.root(), 'bans.json')
    let now = 1_000_000
    const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const [x, y] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')]).then(ks => ks.map(k => peerIdFromPrivateKey(k).toString()))
    const list = await BanList.open({ file, self, now: () => now })
    await list.ban(x, 'short', 10)
    await list.ban(y, 'forever', 0)
    now += 10_000
    expect(list.isBanned(x)).toBe(false)
    expect(list.list().map(b => b.peerId)).toEqual([y])
    await list.ban(y, 'forever, still', 0)
    const saved = JSON.parse(await readFile(file, 'utf8'))
    expect(saved.bans.map((b: { peerId: string }) => b.peerId)).toEqual([y])
    const reloaded = await BanList.open({ file, self, now: () => now })
    expect(reloaded.list()).toEqual([{ peerId: y, reason: 'forever, still', createdMs: now, expiresMs: 0, scope: 'node' }])
    await peers.close()
  })
})
