/**
 * The role a Codio peer tells in identify (`codio-<role>/<version>`), read by the others and
 * carried by the transfer metrics as `peer_role`: between real peers on loopback TCP, an edge
 * downloading from an origin and a relay counts each one's bytes under its role, and the
 * senders count what they served under `edge`.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { until } from '@codio/testing'
import type { Registry } from '@codio/telemetry'
import { codioUserAgent } from '../src/peer-roles.js'
import { addrOf, CHUNK, makeContent, Peers, publish, randomChunks } from './content.js'

/** The samples of counter `name` by its `peer_role` label. */
async function byPeerRole (registry: Registry, name: string): Promise<Record<string, number>> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? []
  return Object.fromEntries(values.map(v => [String(v.labels.peer_role), v.value]))
}

describe('peer roles from identify', () => {
  const peers = new Peers()

  afterAll(async () => {
    await peers.close()
  })

  it('names the agent codio-<role>/<version>', () => {
    expect(codioUserAgent('relay', '1.2.3')).toBe('codio-relay/1.2.3')
  })

  it('an edge learns the role of each peer, and both sides count chunk bytes by the other\'s role', async () => {
    const content = await makeContent(await peers.kp, randomChunks(8))
    const origin = await peers.start('origin', { role: 'origin', version: '9.9.9' })
    await publish(origin, content)
    const relay = await peers.start('relay', { role: 'relay', bootstrap: [addrOf(origin)] })
    const edge = await peers.start('edge', { bootstrap: [addrOf(origin), addrOf(relay)] })
    // each side runs identify on a new connection, each in its own time
    await until(() => edge.peerRoles.of(origin.peerId) === 'origin' && edge.peerRoles.of(relay.peerId) === 'relay', 15_000, 'identify to tell the edge both roles')
    await until(() => origin.peerRoles.of(edge.peerId) === 'edge' && origin.peerRoles.of(relay.peerId) === 'relay', 15_000, 'identify to tell the origin both roles')
    const agent = (await edge.node.peerStore.get(origin.peerId)).metadata.get('AgentVersion')
    expect(new TextDecoder().decode(agent)).toBe('codio-origin/9.9.9')
    // a peer never identified, or not a Codio node, is unknown
    expect(edge.peerRoles.of(edge.peerId)).toBe('unknown')

    await edge.download(await edge.resolve(content.contentId)).done
    const received = await byPeerRole(edge.init.registry, 'codio_swarm_received_bytes_total')
    // every data chunk came from the origin (the relay holds nothing), none from an unknown peer
    expect(received).toEqual({ origin: 8 * CHUNK, relay: 0, edge: 0, unknown: 0 })
    const sent = await byPeerRole(origin.init.registry, 'codio_swarm_sent_bytes_total')
    expect(sent.edge).toBeGreaterThanOrEqual(8 * CHUNK)
    expect(sent.unknown).toBe(0)
  })
})
