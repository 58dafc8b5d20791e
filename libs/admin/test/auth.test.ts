/**
 * The admin server with credentials, over real HTTP(S) connections: every AdminService call
 * without a token, with a wrong one and with a read token, then with the right one.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AdminService } from '@codio/proto'
import { Auth, AuthRequiredError, bearerInterceptor } from '@codio/auth'
import { createLogger, createMetricsRegistry } from '@codio/telemetry'
import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'
import { createAdminClient, startAdminServer, type AdminBackend, type AdminServer } from '../src/index.js'

const tok = (): string => randomBytes(32).toString('base64url')
const log = createLogger({ name: 'admin-test', level: 'silent' })
const backend: AdminBackend = {
  status: async () => ({ role: 'edge', peerId: 'p', multiaddrs: [], connectedPeers: 0, storedBlocks: 0, storedBytes: 0, contents: 0, uptimeSeconds: 1, version: '0', chunksRebuilt: 0, parityChunksFetched: 0, fecGroupsRepaired: 0 }),
  peerStats: async () => [],
  prefetch: async () => { throw new Error('not here') },
  listContent: async () => ['bafy'],
  purge: async () => ({ held: false, chunksRemoved: 0, bytesFreed: 0 })
}

let dir: string
const T = { read: tok(), admin: tok(), oldAdmin: tok() }

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'codio-admin-auth-'))
  await writeFile(join(dir, 'read'), `${T.read}\n`)
  // mid-rotation: two admin tokens, both valid
  await writeFile(join(dir, 'admin'), `# new first\n${T.admin}\n${T.oldAdmin}\n`)
})
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

type Call = (c: Client<typeof AdminService>) => Promise<unknown>
const call = (name: string): Call => async (c) => await (c as unknown as Record<string, (req: object) => Promise<unknown>>)[name]({})
const codeOf = async (p: Promise<unknown>): Promise<Code | 'ok'> => p.then(() => 'ok' as const, (e: unknown) => ConnectError.from(e).code)
const isRead = (name: string): boolean => /^(Get|List)/.test(name)

describe('startAdminServer with credentials', () => {
  let server: AdminServer
  const registry = createMetricsRegistry({ role: 'edge', processMetrics: false })
  beforeAll(async () => {
    const auth = await Auth.load({ config: { readTokenFiles: [join(dir, 'read')], adminTokenFiles: [join(dir, 'admin')] }, log, registry })
    server = await startAdminServer({ host: '127.0.0.1', port: 0, backend, auth })
  })
  afterAll(async () => { await server.close() })

  it('refuses every call without a token or with a wrong one (unauthenticated), and every write call with a read token (permission_denied)', async () => {
    const methods = AdminService.methods.map(m => m.name)
    expect(methods.length).toBeGreaterThanOrEqual(14)
    for (const m of AdminService.methods) {
      const c = call(m.localName)
      expect([m.name, await codeOf(c(createAdminClient(server.url)))]).toEqual([m.name, Code.Unauthenticated])
      expect([m.name, await codeOf(c(createAdminClient(server.url, { token: tok() })))]).toEqual([m.name, Code.Unauthenticated])
      const withRead = await codeOf(c(createAdminClient(server.url, { token: T.read })))
      if (isRead(m.name)) expect([m.name, withRead]).not.toEqual([m.name, Code.PermissionDenied])
      else expect([m.name, withRead]).toEqual([m.name, Code.PermissionDenied])
    }
    const text = await registry.metrics()
    expect(text).toMatch(/codio_auth_failures_total\{endpoint="codio.admin.v1.AdminService\/Purge",reason="missing",role="edge"\} 1/)
    expect(text).toMatch(/codio_auth_failures_total\{endpoint="codio.admin.v1.AdminService\/Purge",reason="invalid",role="edge"\} 1/)
    expect(text).toMatch(/codio_auth_failures_total\{endpoint="codio.admin.v1.AdminService\/Purge",reason="forbidden",role="edge"\} 1/)
  })

  it('checks the token before reading the body: a stranger declaring 3 MiB and sending none is answered at once (unauthenticated), unread', async () => {
    // a body that never comes: a server reading it before the check would wait for it
    const answer = await new Promise<{ status: number, body: string, connection?: string }>((resolve, reject) => {
      const req = request(`${server.url}/codio.admin.v1.AdminService/UpdateConfig`, {
        method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(3 * 1024 * 1024) }
      }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => { body += d.toString() })
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }); req.destroy() })
      })
      req.on('error', reject)
      req.setTimeout(5000, () => { req.destroy(); reject(new Error('no answer within 5 s: the server waited for the body')) })
      req.flushHeaders()
    })
    expect(answer.status).toBe(401)
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'unauthenticated' })
    expect(answer.connection).toBe('close')
  })

  it('serves the right token: read calls with read, every call with either admin token of a two-line file', async () => {
    expect((await createAdminClient(server.url, { token: T.read }).listContent({})).contentIds).toEqual(['bafy'])
    for (const token of [T.admin, T.oldAdmin]) {
      const admin = createAdminClient(server.url, { token })
      expect((await admin.getStatus({})).role).toBe('edge')
      expect(await admin.purge({ contentId: 'bafy' })).toMatchObject({ held: false })
      // an operation the backend lacks gets past the gate and says so
      expect(await codeOf(admin.banPeer({ peerId: 'x' }))).toBe(Code.Unimplemented)
    }
  })
})

describe('startAdminServer policy and TLS', () => {
  it('refuses to start beyond loopback without tokens, naming the setting', async () => {
    const err = await startAdminServer({ host: '0.0.0.0', port: 0, backend }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthRequiredError)
    expect((err as Error).message).toContain('auth.adminTokenFiles')
  })

  it('serves HTTPS with a certificate from files (self-signed here)', async () => {
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')]
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' })
    const auth = await Auth.load({ config: { adminTokenFiles: [join(dir, 'admin')] }, log })
    const server = await startAdminServer({ host: '127.0.0.1', port: 0, backend, auth, tls: { certFile: cert, keyFile: key } })
    try {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
      // a client that does not trust the certificate is refused by TLS
      const untrusted = await createAdminClient(server.url, { token: T.admin }).getStatus({}).then(() => undefined, (e: unknown) => ConnectError.from(e))
      expect(untrusted?.message).toMatch(/certificate/i)
      // one that trusts it (as NODE_EXTRA_CA_CERTS would) gets through, with the token
      const trusting = (token?: string) => createClient(AdminService, createConnectTransport({
        baseUrl: server.url, httpVersion: '1.1', nodeOptions: { ca: readFileSync(cert) }, interceptors: token == null ? [] : [bearerInterceptor(token)]
      }))
      expect((await trusting(T.admin).getStatus({})).role).toBe('edge')
      expect(await codeOf(trusting().getStatus({}))).toBe(Code.Unauthenticated)
    } finally {
      await server.close()
    }
  })
})
