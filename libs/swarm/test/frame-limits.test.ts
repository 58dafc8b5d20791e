/**
 * Hostile framing and handshakes on real libp2p connections (issue 19, found by the fuzz
 * targets `wire.frame-reader` and `wire.swarm-handshake` of @codio/fuzz):
 * - a length prefix that never ends (0xff bytes, each "one more byte follows") kept a block or
 *   session stream's reader reading, holding every byte (≈125 B of heap each) and never failing;
 * - a session handshake naming a malformed content ID (a 300-byte digest, CIDv0, another codec
 *   or hash) reached the host's store (ENAMETOOLONG reset the stream unanswered).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import type { PeerId, Stream } from '@libp2p/interface'
import { RefusalCode } from '@codio/proto'
import {
  BlockRefusedError, chunkExchange, swarmSessions, CHUNK_PROTOCOL, SWARM_PROTOCOL,
  type ChunkExchange, type RefusalReason, type SwarmSessions
} from '@codio/exchange'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { MapStore } from './helpers.js'

type Node = P2PNode<{ exchange: ChunkExchange, sessions: SwarmSessions }>

const CHUNKS = 16

/** Resolves when `stream` is closed (either side, reset included). */
const closed = async (stream: Stream): Promise<void> => {
  if (stream.status !== 'open') return
  await new Promise<void>(resolve => { stream.addEventListener('close', () => { resolve() }, { once: true }) })
}

describe('hostile framing and session handshakes', () => {
  let target: Node
  let peer: Node
  const refusals: Array<{ peer: string, reason: RefusalReason }> = []
  const asked: string[] = []

  beforeAll(async () => {
    const make = async (withHost: boolean): Promise<Node> => {
      const onRefused = (p: PeerId, reason: RefusalReason): void => { refusals.push({ peer: p.toString(), reason }) }
      return await startTestNode<{ exchange: ChunkExchange, sessions: SwarmSessions }>({
        services: {
          exchange: chunkExchange({ blocks: new MapStore(), onRefused }),
          // a host that holds every content it is asked about: only the handshake's own checks refuse
          sessions: swarmSessions(withHost
            ? { host: { bitfield: async (contentId) => { asked.push(contentId.toString()); return new Uint8Array(CHUNKS / 8) }, onInboundSession: s => { s.close() } }, onRefused }
            : {})
        }
      })
    }
    target = await make(true)
    peer = await make(false)
    await peer.dial(target.getMultiaddrs()[0])
  })

  afterAll(async () => {
    await Promise.all([target, peer].map(async n => await n.stop()))
  })

  // 256 KiB of 0xff, then the sender closes its side: with the prefix bounded the reader fails
  // (message_size) after 4 bytes; unbounded, it read all of them and saw only "stream ended"
  it.each([CHUNK_PROTOCOL, SWARM_PROTOCOL])('refuses a %s stream whose length prefix never ends (message_size), not reading on', async (protocol) => {
    const before = refusals.length
    const stream = await peer.dialProtocol(target.peerId, protocol)
    const ff = new Uint8Array(1024).fill(0xff)
    for (let i = 0; i < 256 && stream.status === 'open' && stream.writeStatus === 'writable'; i++) {
      if (!stream.send(ff)) await stream.onDrain().catch(() => {})
    }
    await stream.close().catch(() => {})
    await closed(stream)
    // the refusal is reported as the reader fails; the target's side is gone by now
    const deadline = Date.now() + 10_000
    while (refusals.length === before && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    expect(refusals.slice(before)).toEqual([{ peer: peer.peerId.toString(), reason: 'message_size' }])
  })

  it('refuses a session about a malformed content ID with BAD_REQUEST before its host is asked', async () => {
    const digest = (await sha256.digest(new TextEncoder().encode('frame limits'))).digest
    const hostile: Array<[string, CID]> = [
      ['a 300-byte sha2-256 digest', CID.createV1(0x71, Digest.create(0x12, new Uint8Array(300).fill(7)))],
      ['CIDv0', CID.createV0(Digest.create(0x12, digest))],
      ['the raw codec (a chunk, not a manifest)', CID.createV1(0x55, Digest.create(0x12, digest))],
      ['the identity multihash', CID.createV1(0x71, Digest.create(0x00, new Uint8Array(32)))],
      ['a 20-byte digest', CID.createV1(0x71, Digest.create(0x12, digest.subarray(0, 20)))]
    ]
    for (const [what, contentId] of hostile) {
      const err = await peer.services.sessions.open(target.peerId, contentId, new Uint8Array(CHUNKS / 8)).then(
        s => { s.close(); return new Error(`a session about ${what} was accepted`) },
        (e: unknown) => e
      )
      expect({ what, name: (err as Error).name, code: (err as BlockRefusedError).code }).toEqual({ what, name: 'BlockRefusedError', code: RefusalCode.BAD_REQUEST })
    }
    expect(asked).toEqual([])

    // a well-formed content ID is still handed to the host
    const good = CID.createV1(0x71, Digest.create(0x12, digest))
    const session = await peer.services.sessions.open(target.peerId, good, new Uint8Array(CHUNKS / 8))
    session.close()
    expect(asked).toEqual([good.toString()])
  })
})
