/**
 * A peer's gossip to the tracker over a real NATS that asks for a user and password: the
 * credentials come from a file, every message carries the peer's signature, and a credential
 * file that cannot be read fails the start instead of gossiping into the void.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from 'nats'
import { freePort } from '@codio/sidecars'
import { TrustedKeys } from '@codio/signing'
import { createLogger, createMetricsRegistry } from '@codio/telemetry'
import { decodeGossip, GOSSIP_SIGNATURE_HEADER, gossipWildcard, verifyGossip } from '@codio/tracker'
import { CodioPeer } from '../src/peer.js'
import { until } from '@codio/testing'

describe('gossip from a peer', () => {
  let dir: string
  let server: ChildProcess
  let url: string
  let sub: NatsConnection
  const seen: Array<{ peerId: string, signed: boolean }> = []
  const peers: CodioPeer[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codio-peer-gossip-'))
    const port = await freePort()
    url = `nats://127.0.0.1:${port}`
    server = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '--user', 'codio', '--pass', 'pw'], { stdio: 'ignore' })
    await writeFile(join(dir, 'password'), 'pw\n')
    await until(async () => await connect({ servers: url, user: 'codio', pass: 'pw' }).then(c => { sub = c; return true }, () => false), 15_000, 'the NATS server')
    sub.subscribe(gossipWildcard(), {
      callback: (_err, m) => {
        const g = decodeGossip(m.subject, m.data)
        void verifyGossip(g.update.peerId, m.subject, m.data, m.headers?.get(GOSSIP_SIGNATURE_HEADER)).then(signed => seen.push({ peerId: g.update.peerId, signed }))
      }
    })
    await sub.flush()
  })

  afterAll(async () => {
    await Promise.all(peers.map(async p => await p.stop()))
    await sub?.close()
    server.kill()
    await rm(dir, { recursive: true, force: true })
  })

  const peer = async (name: string, passwordFile: string): Promise<CodioPeer> => {
    const p = await CodioPeer.create({
      role: 'edge',
      dataDir: join(dir, name),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      quic: false,
      trustedKeys: new TrustedKeys(),
      tracker: { nats: [url], natsAuth: { user: 'codio', passwordFile }, gossipIntervalMs: 200 },
      log: createLogger({ name, level: 'silent' }),
      registry: createMetricsRegistry({ role: 'edge', processMetrics: false })
    })
    peers.push(p)
    return p
  }

  it('logs in with the password from its file and signs every message with its key', async () => {
    const p = await peer('edge-1', join(dir, 'password'))
    await p.start()
    const id = p.peerId.toString()
    await until(() => seen.filter(s => s.peerId === id).length >= 2, 15_000, 'two gossip messages')
    expect(seen.filter(s => s.peerId === id).every(s => s.signed)).toBe(true)
  })

  it('refuses to start when its NATS password file cannot be read', async () => {
    const p = await peer('edge-2', join(dir, 'no-such-file'))
    await expect(p.start()).rejects.toMatchObject({ name: 'NatsCredentialsError' })
  })
})
