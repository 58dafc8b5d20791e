/**
 * `[admin] maxRequestBytes` reaches a peer service's admin listener (the relay, the lightest
 * peer role): over real HTTP, a body under the configured limit is served, one over it answers
 * `resource_exhausted`; the default is 4 MiB and a zero limit does not parse.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '@codio/telemetry'
import { relayConfigSchema } from '../src/config.js'
import { createRelay, type Relay } from '../src/relay.js'

/** A Connect JSON GetStatus call whose body is `{}` padded with spaces to `size` bytes. */
async function getStatus (adminUrl: string, size: number): Promise<{ status: number, code?: string }> {
  const res = await fetch(`${adminUrl}/codio.admin.v1.AdminService/GetStatus`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}' + ' '.repeat(size - 2)
  })
  const body = await res.json() as { code?: string }
  return { status: res.status, code: body.code }
}

describe('relay [admin] maxRequestBytes', () => {
  let relay: Relay | undefined
  let dir: string
  afterAll(async () => {
    await relay?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('defaults to 4 MiB and refuses 0', () => {
    expect(relayConfigSchema.parse({}).admin.maxRequestBytes).toBe(4 * 1024 * 1024)
    expect(relayConfigSchema.safeParse({ admin: { maxRequestBytes: 0 } }).success).toBe(false)
  })

  it('applies "64KiB" to the admin listener: 48 KiB served, 100 KiB refused', async () => {
    dir = await mkdtemp(join(tmpdir(), 'codio-relay-limits-'))
    const config = relayConfigSchema.parse({
      dataDir: dir,
      http: { port: 0 },
      admin: { port: 0, maxRequestBytes: '64KiB' },
      p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], quic: false }
    })
    expect(config.admin.maxRequestBytes).toBe(64 * 1024)
    relay = await createRelay(config, createLogger({ name: 'relay', level: 'silent' }), '0.0.0')
    await relay.start()
    expect(await getStatus(relay.adminUrl, 48 * 1024)).toEqual({ status: 200, code: undefined })
    expect(await getStatus(relay.adminUrl, 100 * 1024)).toEqual({ status: 429, code: 'resource_exhausted' })
  })
})
