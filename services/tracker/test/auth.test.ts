/**
 * The tracker's RPC port with credentials (@codio/auth), over real HTTP connections and a real
 * NATS and Redis: TrackerService and ControlService calls without a token, with a wrong one,
 * with a read token on a write call, and with the right one; a process on 0.0.0.0 without
 * tokens refuses to start.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Code, ConnectError, createClient } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'
import { ControlService, TrackerService } from '@codio/proto'
import { freePort, startNats, startRedis, type Sidecar } from '@codio/sidecars'
import { TrackerClient, TrackerRequestError } from '@codio/tracker'
import type { Tracker } from '../src/index.js'
import { contentId, counter, startTracker } from './helpers.js'

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const tok = (): string => randomBytes(32).toString('base64url')
const T = { read: tok(), admin: tok(), node: tok(), nodeNext: tok() }

let nats: Sidecar
let redis: Sidecar
let dir: string
let tracker: Tracker

beforeAll(async () => {
  ;[nats, redis] = await Promise.all([startNats(), startRedis()])
  dir = await mkdtemp(join(tmpdir(), 'codio-tracker-auth-'))
  await writeFile(join(dir, 'read'), `${T.read}\n`)
  await writeFile(join(dir, 'admin'), `${T.admin}\n`)
  // mid-rotation: two node tokens, both valid
  await writeFile(join(dir, 'node'), `${T.nodeNext}\n${T.node}\n`)
  tracker = await startTracker(nats.url, redis.url, {
    rpc: { host: '0.0.0.0', port: 0 },
    auth: { readTokenFiles: [join(dir, 'read')], adminTokenFiles: [join(dir, 'admin')], nodeTokenFiles: [join(dir, 'node')] }
  })
})

afterAll(async () => {
  await tracker?.stop()
  await Promise.all([nats?.stop(), redis?.stop()])
  await rm(dir, { recursive: true, force: true })
})

const url = (): string => tracker.rpcUrl.replace('0.0.0.0', '127.0.0.1')
const transport = (token?: string) => createConnectTransport({
  baseUrl: url(),
  httpVersion: '1.1',
  interceptors: token == null ? [] : [(next) => async (req) => { req.header.set('authorization', `Bearer ${token}`); return await next(req) }]
})
const control = (token?: string) => createClient(ControlService, transport(token))
const trackerRpc = (token?: string) => createClient(TrackerService, transport(token))
const codeOf = async (p: Promise<unknown>): Promise<Code | 'ok'> => p.then(() => 'ok' as const, (e: unknown) => ConnectError.from(e).code)
/** The first message of a server stream, then the stream is cancelled. */
const first = async (stream: AsyncIterable<unknown>): Promise<unknown> => { for await (const m of stream) return m; return undefined }
const unary = (c: object, localName: string) => async (): Promise<unknown> => await (c as Record<string, (r: object) => Promise<unknown>>)[localName]({})
const isAuthCode = (c: Code | 'ok'): boolean => c === Code.Unauthenticated || c === Code.PermissionDenied

describe('tracker RPC port with credentials', () => {
  it('refuses TrackerService calls without a token or with a wrong one (unauthenticated) and serves node and read tokens', async () => {
    for (const m of TrackerService.methods) {
      expect([m.name, await codeOf(unary(trackerRpc(), m.localName)())]).toEqual([m.name, Code.Unauthenticated])
      expect([m.name, await codeOf(unary(trackerRpc(tok()), m.localName)())]).toEqual([m.name, Code.Unauthenticated])
      expect([m.name, await codeOf(unary(trackerRpc(T.admin + 'x'), m.localName)())]).toEqual([m.name, Code.Unauthenticated])
    }
    // a node's client, its token from tracker.tokenFile (the file's first line)
    const nodeClient = new TrackerClient({ baseUrl: url(), timeoutMs: 2000, tokenFile: join(dir, 'node') })
    expect(await nodeClient.selectPeers(contentId(), 3)).toEqual([])
    for (const token of [T.node, T.read, T.admin]) expect(await new TrackerClient({ baseUrl: url(), timeoutMs: 2000, token }).listAvailability({ contentId: contentId() })).toEqual([])
    const anonymous = await new TrackerClient({ baseUrl: url(), timeoutMs: 2000 }).selectPeers(contentId(), 3).catch((e: unknown) => e)
    expect(anonymous).toBeInstanceOf(TrackerRequestError)
    expect((anonymous as TrackerRequestError).code).toBe('unauthenticated')
  })

  it('refuses every ControlService write with a read token (permission_denied), Watch without a node token, and lets the right tokens through', async () => {
    for (const m of ControlService.methods) {
      const call = m.methodKind === 'server_streaming'
        ? (token?: string) => first((control(token) as unknown as Record<string, (r: object) => AsyncIterable<unknown>>)[m.localName]({ role: 'edge', peerId: 'x' }))
        : (token?: string) => unary(control(token), m.localName)()
      expect([m.name, await codeOf(call())]).toEqual([m.name, Code.Unauthenticated])
      expect([m.name, await codeOf(call(tok()))]).toEqual([m.name, Code.Unauthenticated])
      const read = await codeOf(call(T.read))
      const scope = /^(Get|List)/.test(m.name) ? 'read' : m.name === 'Watch' || m.name === 'ReportJobProgress' ? 'node' : 'admin'
      if (scope === 'read') expect([m.name, isAuthCode(read)]).toEqual([m.name, false])
      else expect([m.name, read]).toEqual([m.name, Code.PermissionDenied])
      const right = await codeOf(call(scope === 'node' ? T.node : T.admin))
      expect([m.name, isAuthCode(right)]).toEqual([m.name, false])
      if (scope === 'node') expect([m.name, await codeOf(call(T.admin))]).toEqual([m.name, Code.PermissionDenied])
    }
    const metrics = await (await fetch(`${tracker.httpUrl.replace('0.0.0.0', '127.0.0.1')}/metrics`)).text()
    expect(counter(metrics, 'codio_auth_failures_total', 'endpoint="codio.tracker.v1.ControlService/UpdateClusterConfig",reason="forbidden"')).toBe(1)
    expect(counter(metrics, 'codio_auth_failures_total', 'endpoint="codio.tracker.v1.ControlService/Watch",reason="forbidden"')).toBe(2)
    expect(counter(metrics, 'codio_auth_failures_total', 'reason="missing"')).toBeGreaterThanOrEqual(ControlService.methods.length + TrackerService.methods.length + 1)
    // health, readiness and metrics stay open for kubelets and Prometheus
    expect((await fetch(`${tracker.httpUrl.replace('0.0.0.0', '127.0.0.1')}/healthz`)).status).toBe(200)
  })
})

describe('tracker RPC port over TLS', () => {
  it('serves HTTPS from certificate files, with the tokens still required', async () => {
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')]
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' })
    const t = await startTracker(nats.url, redis.url, { rpc: { port: 0, tls: { certFile: cert, keyFile: key } }, auth: { nodeTokenFiles: [join(dir, 'node')], adminTokenFiles: [join(dir, 'admin')] } })
    try {
      expect(t.rpcUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
      const client = (token?: string) => createClient(TrackerService, createConnectTransport({
        baseUrl: t.rpcUrl, httpVersion: '1.1', nodeOptions: { ca: readFileSync(cert) },
        interceptors: token == null ? [] : [(next) => async (req) => { req.header.set('authorization', `Bearer ${token}`); return await next(req) }]
      }))
      expect((await client(T.node).selectPeers({ contentId: contentId(), count: 1 })).peers).toEqual([])
      expect(await codeOf(client().selectPeers({ contentId: contentId(), count: 1 }))).toBe(Code.Unauthenticated)
    } finally {
      await t.stop()
    }
  })
})

describe('codio-tracker process', () => {
  it('refuses to start on 0.0.0.0 without tokens, naming the settings to add, and exits 1', async () => {
    const file = join(dir, 'open.toml')
    await writeFile(file, ['[http]', `port = ${await freePort()}`, '[rpc]', 'host = "0.0.0.0"', `port = ${await freePort()}`, '[nats]', `servers = "${nats.url}"`, '[redis]', `url = "${redis.url}"`].join('\n'))
    const child = spawn(process.execPath, [MAIN, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (b: Buffer) => { output += b.toString() })
    child.stderr.on('data', (b: Buffer) => { output += b.toString() })
    const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
    expect(code).toBe(1)
    expect(output).toContain('codio-tracker: cannot start: the rpc listener on 0.0.0.0')
    expect(output).toContain('auth.readTokenFiles')
    expect(output).toContain('auth.nodeTokenFiles')
    expect(output).toContain('auth.adminTokenFiles')
    expect(output).toContain('auth.required = "never"')
    expect(output).not.toContain('tracker started')
  })
})
