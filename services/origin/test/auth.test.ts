/**
 * The origin with credentials, over real HTTP(S) connections: `PUT /content` needs a publish
 * token (401 / 403 otherwise), its admin API read and admin tokens, probes stay open, and the
 * ingest port serves HTTPS from certificate files.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AdminService } from '@codio/proto'
import { AuthRequiredError, bearerInterceptor } from '@codio/auth'
import { createAdminClient } from '@codio/admin'
import { createLogger } from '@codio/telemetry'
import { Code, ConnectError, createClient } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'
import { createOrigin, type Origin } from '../src/origin.js'
import { originConfigSchema } from '../src/config.js'

const log = createLogger({ name: 'origin-auth-test', level: 'silent' })
const tok = (): string => randomBytes(32).toString('base64url')
const T = { read: tok(), admin: tok(), publish: tok(), publishOld: tok() }

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'codio-origin-auth-'))
  await writeFile(join(dir, 'read'), `${T.read}\n`)
  await writeFile(join(dir, 'admin'), `${T.admin}\n`)
  await writeFile(join(dir, 'publish'), `${T.publish}\n${T.publishOld}\n`)
})
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

const config = (extra: Record<string, unknown> = {}) => originConfigSchema.parse({
  dataDir: join(dir, `origin-${randomBytes(4).toString('hex')}`),
  http: { host: '0.0.0.0', port: 0 },
  admin: { host: '0.0.0.0', port: 0 },
  publisher: { keyFile: join(dir, 'publisher.jwk') },
  ingest: { chunkSize: 65536 },
  auth: { readTokenFiles: [join(dir, 'read')], adminTokenFiles: [join(dir, 'admin')], publishTokenFiles: [join(dir, 'publish')] },
  ...extra
})
const local = (url: string): string => url.replace('0.0.0.0', '127.0.0.1')
const codeOf = async (p: Promise<unknown>): Promise<Code | 'ok'> => p.then(() => 'ok' as const, (e: unknown) => ConnectError.from(e).code)

describe('origin with credentials on 0.0.0.0', () => {
  let origin: Origin
  beforeAll(async () => {
    origin = await createOrigin(config(), log, 'test')
    await origin.start()
  })
  afterAll(async () => { await origin.stop() })

  const put = async (token?: string): Promise<Response> => await fetch(`${local(origin.httpUrl)}/content`, {
    method: 'PUT',
    body: randomBytes(200_000),
    headers: { 'content-type': 'application/octet-stream', ...(token == null ? {} : { authorization: `Bearer ${token}` }) }
  })

  it('refuses PUT /content without a token or with a wrong one (401 + challenge), with a read or admin token (403); counts each', async () => {
    for (const [token, status, reason] of [[undefined, 401, 'missing'], [tok(), 401, 'invalid'], [T.read, 403, 'forbidden'], [T.admin, 403, 'forbidden']] as const) {
      const res = await put(token)
      expect([reason, res.status]).toEqual([reason, status])
      expect(res.headers.get('www-authenticate')).toBe(status === 401 ? 'Bearer realm="codio"' : null)
      expect(await res.json()).toMatchObject({ reason })
    }
    expect((await origin.peer.store.stats()).blocks).toBe(0)
    const metrics = await (await fetch(`${local(origin.httpUrl)}/metrics`)).text()
    expect(metrics).toMatch(/codio_auth_failures_total\{endpoint="PUT \/content",reason="missing",role="origin"\} 1/)
    expect(metrics).toMatch(/codio_auth_failures_total\{endpoint="PUT \/content",reason="invalid",role="origin"\} 1/)
    expect(metrics).toMatch(/codio_auth_failures_total\{endpoint="PUT \/content",reason="forbidden",role="origin"\} 2/)
  })

  it('publishes with either publish token of a two-line file; probes stay open', async () => {
    for (const token of [T.publish, T.publishOld]) {
      const res = await put(token)
      expect(res.status).toBe(201)
      expect(await res.json()).toMatchObject({ size: 200_000 })
    }
    for (const path of ['/healthz', '/readyz', '/metrics']) expect([path, (await fetch(`${local(origin.httpUrl)}${path}`)).status]).toEqual([path, 200])
  })

  it('guards its admin API: unauthenticated without a token, permission_denied for a read token on a write call', async () => {
    const admin = local(origin.adminUrl)
    expect(await codeOf(createAdminClient(admin).getStatus({}))).toBe(Code.Unauthenticated)
    expect(await codeOf(createAdminClient(admin, { token: tok() }).listContent({}))).toBe(Code.Unauthenticated)
    expect(await codeOf(createAdminClient(admin, { token: T.publish }).getStatus({}))).toBe(Code.PermissionDenied)
    expect(await codeOf(createAdminClient(admin, { token: T.read }).prefetch({ contentId: 'x' }))).toBe(Code.PermissionDenied)
    expect((await createAdminClient(admin, { token: T.read }).listContent({})).contentIds).toHaveLength(2)
    expect((await createAdminClient(admin, { token: T.admin }).getStatus({})).role).toBe('origin')
  })
})

describe('origin start-up checks', () => {
  it('refuses to start on 0.0.0.0 without a publish token, naming the setting', async () => {
    const err = await createOrigin(config({ auth: { adminTokenFiles: [join(dir, 'admin')] } }), log, 'test').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthRequiredError)
    expect((err as Error).message).toContain('ingest listener on 0.0.0.0')
    expect((err as Error).message).toContain('auth.publishTokenFiles')
  })

  it('refuses an unreadable token file, naming it', async () => {
    const missing = join(dir, 'nope')
    await expect(createOrigin(config({ auth: { publishTokenFiles: [missing] } }), log, 'test')).rejects.toThrow(missing)
  })

  it('serves ingest and admin over HTTPS with a self-signed certificate', async () => {
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')]
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' })
    const tls = { certFile: cert, keyFile: key }
    const origin = await createOrigin(config({ http: { host: '127.0.0.1', port: 0, tls }, admin: { host: '127.0.0.1', port: 0, tls } }), log, 'test')
    await origin.start()
    try {
      expect(origin.httpUrl).toMatch(/^https:/)
      expect(origin.adminUrl).toMatch(/^https:/)
      const ca = readFileSync(cert)
      const body = randomBytes(100_000)
      const answer = await new Promise<{ status: number, json: any }>((resolve, reject) => {
        const req = request(`${origin.httpUrl}/content`, { method: 'PUT', ca, headers: { 'content-type': 'application/octet-stream', 'content-length': body.length, authorization: `Bearer ${T.publish}` } }, res => {
          let text = ''
          res.on('data', (b: Buffer) => { text += b.toString() })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }))
        })
        req.on('error', reject)
        req.end(body)
      })
      expect(answer).toMatchObject({ status: 201, json: { size: 100_000 } })
      const admin = createClient(AdminService, createConnectTransport({ baseUrl: origin.adminUrl, httpVersion: '1.1', nodeOptions: { ca }, interceptors: [bearerInterceptor(T.admin)] }))
      expect((await admin.listContent({})).contentIds).toEqual([answer.json.cid])
    } finally {
      await origin.stop()
    }
  })
})
