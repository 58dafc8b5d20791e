import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  compareXor, DhtManager, DhtNotRunningError, DhtQueryTimeoutError, InvalidDhtOptionsError, kadId, peerKadId,
  PeerNotFoundError, XorLengthMismatchError, xorDistance
} from '../src/index.js'
import { until } from '@codio/testing'
import { dialAddr, randomCid } from './helpers.js'

describe('xor metric', () => {
  it('xorDistance is byte-wise XOR and rejects a length mismatch with a typed error', () => {
    expect(xorDistance(Uint8Array.of(0b1010, 0xff), Uint8Array.of(0b0110, 0x0f))).toEqual(Uint8Array.of(0b1100, 0xf0))
    expect(xorDistance(new Uint8Array(3), new Uint8Array(3))).toEqual(new Uint8Array(3))
    let err: unknown
    try {
      xorDistance(new Uint8Array(32), new Uint8Array(31))
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(XorLengthMismatchError)
    expect((err as XorLengthMismatchError).code).toBe('ERR_XOR_LENGTH_MISMATCH')
    expect(() => compareXor(new Uint8Array(2), new Uint8Array(1))).toThrow(XorLengthMismatchError)
    expect(() => xorDistance('ab' as any, new Uint8Array(2))).toThrow(XorLengthMismatchError)
  })

  it('compareXor orders distances as big-endian integers', () => {
    expect(compareXor(Uint8Array.of(0, 0xff), Uint8Array.of(1, 0))).toBeLessThan(0)
    expect(compareXor(Uint8Array.of(2, 0), Uint8Array.of(1, 0xff))).toBeGreaterThan(0)
    expect(compareXor(Uint8Array.of(7, 7), Uint8Array.of(7, 7))).toBe(0)
  })

  it('kadId and peerKadId are SHA-256 of the key / of the peer multihash', async () => {
    const key = crypto.getRandomValues(new Uint8Array(32))
    expect(await kadId(key)).toEqual(new Uint8Array(createHash('sha256').update(key).digest()))
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    expect(await peerKadId(peer)).toEqual(new Uint8Array(createHash('sha256').update(peer.toMultihash().bytes).digest()))
  })
})

describe('DhtManager options and inputs', () => {
  let node: P2PNode

  beforeAll(async () => {
    node = await startTestNode()
  })

  afterAll(async () => {
    await node?.stop()
  })

  it('rejects out-of-range options with InvalidDhtOptionsError', () => {
    for (const init of [
      { queryTimeoutMs: 60_001 }, { queryTimeoutMs: 0 }, { queryTimeoutMs: -5 }, { queryTimeoutMs: Number.NaN },
      { queryTimeoutMs: '1000' as any }, { refreshIntervalMs: 0 }, { refreshIntervalMs: Infinity }, null as any
    ]) {
      expect(() => new DhtManager(node, init)).toThrow(InvalidDhtOptionsError)
    }
    expect(() => new DhtManager({ services: {} } as any)).toThrow(InvalidDhtOptionsError)
    const ok = new DhtManager(node, { queryTimeoutMs: 60_000, refreshIntervalMs: 1000 })
    expect(ok.queryTimeoutMs).toBe(60_000)
    expect(new DhtManager(node).queryTimeoutMs).toBe(60_000)
    expect(new DhtManager(node).refreshIntervalMs).toBe(600_000)
  })

  it('rejects bad arguments with InvalidDhtOptionsError before any query', async () => {
    const m = new DhtManager(node)
    const cid = await randomCid()
    await expect(m.provide('bafy' as any)).rejects.toThrow(InvalidDhtOptionsError)
    expect(() => m.findProviders({} as any)).toThrow(InvalidDhtOptionsError)
    expect(() => m.findProviders(cid, { limit: 0 })).toThrow(InvalidDhtOptionsError)
    expect(() => m.findProviders(cid, { limit: 1.5 })).toThrow(InvalidDhtOptionsError)
    expect(() => m.findProviders(cid, { signal: 'x' as any })).toThrow(InvalidDhtOptionsError)
    await expect(m.closestPeers('key' as any)).rejects.toThrow(InvalidDhtOptionsError)
    await expect(m.closestPeers(new Uint8Array(32), { count: 0 })).rejects.toThrow(InvalidDhtOptionsError)
    await expect(m.findPeer('12D3KooW' as any)).rejects.toThrow(InvalidDhtOptionsError)
    await expect(m.stopProviding(42 as any)).rejects.toThrow(InvalidDhtOptionsError)
    expect(m.stats().queries).toEqual({ provide: 0, findProviders: 0, findPeer: 0, closestPeers: 0 })
  })

  it('refuses queries on a stopped node with DhtNotRunningError', async () => {
    const stopped = await startTestNode()
    await stopped.stop()
    const m = new DhtManager(stopped)
    await expect(m.provide(await randomCid())).rejects.toThrow(DhtNotRunningError)
    await expect(m.closestPeers(new Uint8Array(8))).rejects.toThrow(DhtNotRunningError)
    await expect(m.refresh()).rejects.toThrow(DhtNotRunningError)
  })

  it('error classes carry their own name and a code', () => {
    const errors = [
      new InvalidDhtOptionsError('x'), new PeerNotFoundError('x'), new XorLengthMismatchError('x'),
      new DhtNotRunningError('x'), new DhtQueryTimeoutError('x', { operation: 'provide', timeoutMs: 1 })
    ]
    for (const e of errors) {
      expect(e.name).toBe(e.constructor.name)
      expect(e.code).toMatch(/^ERR_[A-Z_]+$/)
      expect(e).toBeInstanceOf(Error)
    }
    expect(new PeerNotFoundError('x').code).toBe('ERR_PEER_NOT_FOUND')
  })

  it('provide on a started node with no DHT peers resolves with 0 holders, and the record is kept', async () => {
    const lonely = await startTestNode()
    try {
      const m = new DhtManager(lonely, { queryTimeoutMs: 5000 })
      const cid = await randomCid()
      expect(await m.provide(cid)).toEqual({ holders: 0 })
      expect(m.providing().map(c => c.toString())).toEqual([cid.toString()])
      expect((await m.localProviders(cid)).map(p => p.toString())).toEqual([lonely.peerId.toString()])
      expect(await m.countProviderRecords()).toBe(1)
      expect(m.stats().providerRecords).toBe(1)

      // once a peer shows up, a refresh announces nothing (trying again is the caller's job, on
      // Codio the peer's announcer): the caller's next provide delivers the record
      const peer = await startTestNode({ bootstrap: [dialAddr(lonely)] })
      try {
        await until(() => lonely.services.dht.routingTable.size > 0, 20_000, 'lonely node sees a DHT peer')
        const r = await m.refresh()
        expect(r.peersFound).toBeGreaterThanOrEqual(1)
        expect(m.stats().refreshes).toBe(1)
        const pm = new DhtManager(peer)
        expect(await pm.localProviders(cid)).toEqual([])
        expect((await m.provide(cid)).holders).toBe(1)
        await until(async () => (await pm.localProviders(cid)).some(p => p.equals(lonely.peerId)), 10_000, 'record delivered')
      } finally {
        await peer.stop()
      }
    } finally {
      await lonely.stop()
    }
  })
})
