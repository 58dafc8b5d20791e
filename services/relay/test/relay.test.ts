import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '@codio/sidecars'
import { createLogger } from '@codio/telemetry'
import { relayConfigSchema } from '../src/config.js'
import { createRelay, type Relay } from '../src/relay.js'


describe('relay', () => {
  const relays: Relay[] = []
  const dirs: string[] = []
  afterAll(async () => {
    await Promise.all(relays.map(async r => await r.stop()))
    await Promise.all(dirs.map(async d => await rm(d, { recursive: true, force: true })))
  })

  it('is ready while the relays its shared bootstrap list names (itself included) are not up yet', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codio-relay-'))
    dirs.push(dir)
    const [self, other] = [await freePort(), await freePort()]
    // the list every relay of a StatefulSet or compose file shares: itself and a relay still starting
    const config = relayConfigSchema.parse({
      dataDir: dir,
      http: { port: 0 },
      admin: { port: 0 },
      p2p: { listen: [`/ip4/127.0.0.1/tcp/${self}`], quic: false, bootstrap: [`/dns4/localhost/tcp/${self}`, `/ip4/127.0.0.1/tcp/${other}`] }
    })
    const relay = await createRelay(config, createLogger({ name: 'relay', level: 'silent' }), '0.0.0')
    relays.push(relay)
    await relay.start()
    const res = await fetch(`${relay.httpUrl}/readyz`)
    expect(res.status).toBe(200)
    expect(relay.peer.node.services.peers.isKeptAlive(relay.peer.node.peerId)).toBe(false)
  })
})
