import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAdminClient } from '@codio/admin'
import { freePort } from '@codio/sidecars'
import { loadPublicKey, encodePublicKey } from '@codio/signing'
import { Code, ConnectError } from '@connectrpc/connect'
import { until } from '@codio/testing'

// The origin's live settings through the admin API of a real origin process: its default FEC
// code and chunk size change for the next upload, no restart; its own publisher key is listed.

const MAIN = new URL('../dist/main.js', import.meta.url).pathname

describe('origin configuration through ConnectRPC (a real origin process)', () => {
  let dir: string
  let origin: ChildProcess
  let httpUrl: string
  let adminUrl: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codio-origin-config-'))
    const [httpPort, adminPort] = [await freePort(), await freePort()]
    httpUrl = `http://127.0.0.1:${httpPort}`
    adminUrl = `http://127.0.0.1:${adminPort}`
    const toml = join(dir, 'origin.toml')
    await writeFile(toml, [
      `dataDir = "${join(dir, 'origin')}"`,
      `[http]\nport = ${httpPort}`,
      `[admin]\nport = ${adminPort}`,
      '[p2p]\nquic = false\nlisten = ["/ip4/127.0.0.1/tcp/0"]',
      `[publisher]\nkeyFile = "${join(dir, 'publisher.jwk')}"`,
      '[ingest]\nchunkSize = "64KiB"\nfec = "4+2"'
    ].join('\n') + '\n')
    const out = createWriteStream(join(dir, 'origin.log'))
    origin = spawn(process.execPath, [MAIN, '--config', toml], { stdio: ['ignore', 'pipe', 'pipe'] })
    origin.stdout!.pipe(out)
    origin.stderr!.pipe(out)
    await until(async () => await fetch(`${httpUrl}/readyz`).then(r => r.status === 200, () => false), 30_000, 'the origin to be ready')
  }, 60_000)

  afterAll(async () => {
    if (origin?.exitCode === null) {
      const exit = new Promise(resolve => origin.once('exit', resolve))
      origin.kill('SIGTERM')
      await exit
    }
    await rm(dir, { recursive: true, force: true })
  })

  const upload = async (): Promise<any> => {
    const res = await fetch(`${httpUrl}/content`, { method: 'PUT', body: randomBytes(300_000), headers: { 'content-type': 'application/octet-stream' } })
    expect(res.status).toBe(201)
    return await res.json()
  }

  it('changes the default FEC code and chunk size for the next upload, without a restart', async () => {
    const admin = createAdminClient(adminUrl)
    const before = await upload()
    expect(before).toMatchObject({ fec: '4+2', chunks: 5 })
    const res = await admin.updateConfig({ config: { ingest: { fec: 'none', chunkSize: '128KiB' } }, updateMask: [] })
    expect(res.changed).toEqual(['ingest.chunkSize', 'ingest.fec'])
    const after = await upload()
    expect(after).toMatchObject({ fec: 'none', chunks: 3, parityChunks: 0 })

    const bad = await admin.updateConfig({ config: { ingest: { fec: '300+1' } }, updateMask: [] }).catch((err: unknown) => ConnectError.from(err))
    expect(bad).toBeInstanceOf(ConnectError)
    expect((bad as ConnectError).code).toBe(Code.InvalidArgument)
    expect((bad as ConnectError).rawMessage).toContain('ingest.fec')
    const restart = await admin.updateConfig({ config: { publisher: { keyFile: '/elsewhere.jwk' } }, updateMask: [] }).catch((err: unknown) => ConnectError.from(err))
    expect((restart as ConnectError).code).toBe(Code.FailedPrecondition)
    expect((restart as ConnectError).rawMessage).toContain('publisher.keyFile')
    expect((await upload()).fec).toBe('none')
  })

  it('lists its own publisher key, trusted', async () => {
    const own = encodePublicKey(await loadPublicKey(join(dir, 'publisher.jwk')))
    const keys = (await createAdminClient(adminUrl).listKeys({})).keys
    expect(keys.map(k => ({ publicKey: k.publicKey, revoked: k.revoked, source: k.source }))).toEqual([{ publicKey: own, revoked: false, source: 'file' }])
  })
})
