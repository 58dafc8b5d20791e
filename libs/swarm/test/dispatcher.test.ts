/**
 * What a download does with each typed result of its fetcher (src/dispatcher.ts), with a
 * scripted fetcher in memory: a choke waits for the unchoke, a refusal or a bad block sends the
 * chunk to another peer (bad blocks ban the peer), a transient failure retries the same peer
 * until it fails too often, and a store that cannot write fails the download with its error.
 */
import { describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { chunkCid } from '@codio/content'
import { until } from '@codio/testing'
import { Bitfield, ChunkUnavailableError, Download, type BlockFetcher, type DownloadInit, type FetchResult } from '../src/index.js'
import { MapStore } from './helpers.js'

const chunks = Array.from({ length: 4 }, () => randomBytes(256))
const cids = chunks.map(chunkCid)

async function peerId (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** A fetcher that answers each request as `answer` says (`ok` serves the true chunk), recording [peer, chunk]. */
function scripted (answer: (peer: PeerId, index: number) => FetchResult | 'ok' | Promise<never>): { fetcher: BlockFetcher, asked: Array<[PeerId, number]> } {
  const asked: Array<[PeerId, number]> = []
  const fetcher: BlockFetcher = {
    async fetch (peer, cid) {
      const index = cids.findIndex(c => c.equals(cid))
      asked.push([peer, index])
      await new Promise(resolve => setImmediate(resolve))
      const a = await answer(peer, index)
      return a === 'ok' ? { ok: true, block: chunks[index] } : a
    }
  }
  return { fetcher, asked }
}

const settledWithin = async (p: Promise<unknown>, ms: number): Promise<boolean> =>
  await Promise.race([p.then(() => true, () => true), new Promise<boolean>(resolve => setTimeout(() => resolve(false), ms).unref())])

function download (fetcher: BlockFetcher, init: Partial<DownloadInit> = {}): Download {
  return new Download({ chunks: cids, fetcher, sink: new MapStore(), strategy: 'sequential', perPeerInFlight: 1, ...init })
}

describe('a download acts on the typed failure of each request', () => {
  it('choked: the peer is sent nothing until it unchokes, then serves; no failure, no ban, the chunk not excluded', async () => {
    const a = await peerId()
    let choking = true
    const { fetcher, asked } = scripted(() => choking ? { ok: false, failure: 'choked' } : 'ok')
    const dl = download(fetcher, { maxPeerFailures: 1 })
    dl.addPeer(a)
    dl.noMorePeers()
    await dl.start()
    await until(() => dl.progress().peersChoking === 1, 5000, 'the choke')
    // neither retried at once (a transient failure) nor given up (a refusal: no other peer)
    expect(await settledWithin(dl.done, 300)).toBe(false)
    expect(asked).toHaveLength(1)
    choking = false
    dl.setChoked(a, false)
    await dl.done
    expect(asked.map(([, i]) => i)).toEqual([0, 0, 1, 2, 3])
    expect(dl.bannedPeers()).toEqual([])
    expect(dl.progress()).toMatchObject({ peersChoking: 0, chunksByPeer: { [a.toString()]: 4 } })
  })

  it('verification: the chunk goes to another peer, the liar is never asked for it again and is banned after maxBadChunks', async () => {
    const [liar, honest] = await Promise.all([peerId(), peerId()])
    const { fetcher, asked } = scripted(peer => peer.equals(liar) ? { ok: false, failure: 'verification', error: new Error('bad bytes') } : 'ok')
    // never banned for failing in a row: only the bad chunks can ban it
    const dl = download(fetcher, { maxBadChunks: 2, maxPeerFailures: 1000 })
    dl.addPeer(liar)
    await dl.start()
    await until(() => dl.bannedPeers().length === 1, 5000, 'the liar banned')
    dl.addPeer(honest)
    dl.noMorePeers()
    await dl.done
    // sequential: chunk 0, then chunk 1 (chunk 0 is not asked of it again), then the ban
    expect(asked.filter(([p]) => p.equals(liar)).map(([, i]) => i)).toEqual([0, 1])
    expect(dl.bannedPeers()).toEqual([liar.toString()])
    expect(dl.progress().chunksByPeer).toEqual({ [liar.toString()]: 0, [honest.toString()]: 4 })
  })

  it('refused: that chunk goes to another peer, and the peer, not counted as failing, serves the rest', async () => {
    const [a, b] = await Promise.all([peerId(), peerId()])
    const { fetcher, asked } = scripted((peer, i) => peer.equals(a) && i === 0 ? { ok: false, failure: 'refused' } : 'ok')
    // one transient failure would ban `a`
    const dl = download(fetcher, { maxPeerFailures: 1 })
    dl.addPeer(a)
    await dl.start()
    await until(() => dl.chunksDone === 3, 5000, 'chunks 1..3 from a')
    const onlyZero = new Bitfield(cids.length)
    onlyZero.set(0)
    dl.addPeer(b, onlyZero)
    dl.noMorePeers()
    await dl.done
    expect(asked.filter(([p, i]) => p.equals(a) && i === 0)).toHaveLength(1)
    expect(dl.bannedPeers()).toEqual([])
    expect(dl.progress().chunksByPeer).toEqual({ [a.toString()]: 3, [b.toString()]: 1 })
  })

  it('refused by the only peer, with no more to come: the download fails with ChunkUnavailableError', async () => {
    const a = await peerId()
    const { fetcher } = scripted((_, i) => i === 2 ? { ok: false, failure: 'refused' } : 'ok')
    const dl = download(fetcher)
    dl.addPeer(a)
    dl.noMorePeers()
    await dl.start()
    await expect(dl.done).rejects.toBeInstanceOf(ChunkUnavailableError)
    expect(dl.chunksDone).toBe(3)
  })

  it('timeout (transient): the same peer is asked for the chunk again, and banned after maxPeerFailures in a row', async () => {
    const a = await peerId()
    let timeouts = 1
    const { fetcher, asked } = scripted(() => timeouts-- > 0 ? { ok: false, failure: 'timeout' } : 'ok')
    const dl = download(fetcher, { maxPeerFailures: 2 })
    dl.addPeer(a)
    dl.noMorePeers()
    await dl.start()
    await dl.done
    expect(asked.map(([, i]) => i)).toEqual([0, 0, 1, 2, 3])
    expect(dl.bannedPeers()).toEqual([])

    const b = await peerId()
    const failing = scripted(() => ({ ok: false, failure: 'unreachable' }))
    const stuck = download(failing.fetcher, { maxPeerFailures: 2 })
    stuck.addPeer(b)
    stuck.noMorePeers()
    await stuck.start()
    await expect(stuck.done).rejects.toBeInstanceOf(ChunkUnavailableError)
    expect(failing.asked.map(([, i]) => i)).toEqual([0, 0])
    expect(stuck.bannedPeers()).toEqual([b.toString()])
  })

  it('a fetcher that rejects instead of answering counts as unreachable (transient)', async () => {
    const a = await peerId()
    const { fetcher, asked } = scripted(async () => { throw new Error('a broken fetcher') })
    const dl = download(fetcher, { maxPeerFailures: 1 })
    dl.addPeer(a)
    dl.noMorePeers()
    await dl.start()
    await expect(dl.done).rejects.toBeInstanceOf(ChunkUnavailableError)
    expect(asked).toHaveLength(1)
    expect(dl.bannedPeers()).toEqual([a.toString()])
  })

  it('a sink whose put rejects fails the download with that error, whatever its name, and blames no peer', async () => {
    const a = await peerId()
    const { fetcher, asked } = scripted(() => 'ok')
    const sink = new MapStore()
    const err = new Error('EROFS: read-only file system')
    sink.put = async () => { throw err }
    const dl = new Download({ chunks: cids, fetcher, sink, perPeerInFlight: 1, maxInFlight: 1, maxPeerFailures: 1 })
    dl.addPeer(a)
    dl.noMorePeers()
    await dl.start()
    await expect(dl.done).rejects.toBe(err)
    expect(dl.bannedPeers()).toEqual([])
    expect(asked).toHaveLength(1)
  })
})
