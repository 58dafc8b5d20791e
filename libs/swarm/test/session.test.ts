import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { MAX_PEX_PEERS, swarmSessions, type PexEntry, type SwarmSession, type SwarmSessions } from '@codio/exchange'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { until } from '@codio/testing'
import { Bitfield } from '../src/index.js'

type Node = P2PNode<{ sessions: SwarmSessions }>

const CHUNKS = 16

async function node (): Promise<Node> {
  return await startTestNode<{ sessions: SwarmSessions }>({ services: { sessions: swarmSessions() } })
}

describe('swarm sessions over real libp2p connections', () => {
  let seed: Node
  let leecher: Node
  const inbound: SwarmSession[] = []
  let contentId: CID

  beforeAll(async () => {
    // a content ID names a manifest (dag-cbor); the handshake refuses any other
    contentId = CID.createV1(0x71, await sha256.digest(new TextEncoder().encode('session test')))
    seed = await node()
    leecher = await node()
    // like a super-seed: an empty bitfield at the handshake, then chunks revealed as `have`s
    // the moment the session exists
    seed.services.sessions.setHost({
      bitfield: async () => new Bitfield(CHUNKS).toBytes(),
      onInboundSession: session => {
        inbound.push(session)
        session.sendHave([3, 9])
      }
    })
    leecher.services.sessions.setHost({ bitfield: async () => undefined, onInboundSession: s => s.close() })
    await leecher.dial(seed.getMultiaddrs()[0])
  })

  afterAll(async () => {
    await Promise.all([seed, leecher].map(async n => n.stop()))
  })

  it('passes the `have`s that arrive between the handshake and listen() to onHave at listen(), then the later ones', async () => {
    const session = await leecher.services.sessions.open(seed.peerId, contentId, new Bitfield(CHUNKS).toBytes())
    // the owner is busy elsewhere for a moment before it listens
    await new Promise(resolve => setTimeout(resolve, 200))
    // the handshake bitfield stays what the remote sent: the early ones wait for listen()
    expect(Bitfield.fromBytes(CHUNKS, session.remoteBitfield).count()).toBe(0)
    const heard: number[][] = []
    session.listen({ onHave: indexes => { heard.push([...indexes]) } })
    expect(heard).toEqual([[3, 9]])
    // from listen() on, `have`s go to the callback as they come
    inbound.at(-1)!.sendHave([12])
    await until(() => heard.length === 2, 5000, 'the later have')
    expect(heard).toEqual([[3, 9], [12]])
    session.close()
  })

  it('gathers `have`s sent within HAVE_BATCH_MS into one message, and sends them before a later choke or unchoke', async () => {
    const session = await leecher.services.sessions.open(seed.peerId, contentId, new Bitfield(CHUNKS).toBytes())
    const events: string[] = []
    session.listen({
      onHave: indexes => { events.push(`have ${indexes.join(',')}`) },
      onChoke: choked => { events.push(choked ? 'choke' : 'unchoke') }
    })
    await until(() => events.length === 1, 5000, 'the have sent at the handshake')
    const remote = inbound.at(-1)!
    for (const i of [1, 2, 5]) remote.sendHave([i])
    await until(() => events.length === 2, 5000, 'the gathered haves')
    expect(events[1]).toBe('have 1,2,5')
    // a state message does not overtake the haves gathered before it
    remote.sendHave([7])
    remote.setChoking(false)
    await until(() => events.length === 4, 5000, 'the have and the unchoke')
    expect(events.slice(2)).toEqual(['have 7', 'unchoke'])
    session.close()
  })

  it('carries peer exchange (BEP 11) messages, at most 50 peers added and 50 dropped', async () => {
    const session = await leecher.services.sessions.open(seed.peerId, contentId, new Bitfield(CHUNKS).toBytes())
    const heard = new Promise<{ added: PexEntry[], dropped: Uint8Array[] }>(resolve => session.listen({ onPeerExchange: (added, dropped) => resolve({ added, dropped }) }))
    const added = [{ peerId: seed.peerId.toMultihash().bytes, multiaddrs: seed.getMultiaddrs().map(a => a.bytes) }]
    const dropped = [leecher.peerId.toMultihash().bytes]
    inbound.at(-1)!.sendPeerExchange(added, dropped)
    const got = await heard
    expect(got.added.map(a => ({ peerId: [...a.peerId], multiaddrs: a.multiaddrs.map(m => [...m]) }))).toEqual(added.map(a => ({ peerId: [...a.peerId], multiaddrs: a.multiaddrs.map(m => [...m]) })))
    expect(got.dropped.map(d => [...d])).toEqual(dropped.map(d => [...d]))
    expect(() => inbound.at(-1)!.sendPeerExchange(Array.from({ length: MAX_PEX_PEERS + 1 }, () => added[0]), [])).toThrow(RangeError)
    session.close()
  })
})
