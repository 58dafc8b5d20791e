import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { AdminService, ControlService, TrackerService } from '@codio/proto'
import { Code, ConnectError, createClient, type ConnectRouter } from '@connectrpc/connect'
import { connectNodeAdapter, createConnectTransport } from '@connectrpc/connect-node'
import { Registry } from 'prom-client'
import { Auth, authInterceptor, bearerInterceptor, scopeOfMethod, scopesOfRoutes, TokenSet } from '../src/index.js'
import { failures, memoryLogger } from './helpers.js'

const tok = (): string => randomBytes(32).toString('base64url')
const T = { read: tok(), admin: tok(), node: tok(), publish: tok() }

const routes = (router: ConnectRouter): void => {
  router.service(AdminService, {
    getStatus: async () => ({ role: 'edge' }),
    purge: async () => ({ held: true })
  })
  router.service(TrackerService, { selectPeers: async () => ({ peers: [] }) })
  router.service(ControlService, {
    async * watch () { yield { eventId: '1' } },
    updateClusterConfig: async () => ({})
  })
}

let server: Server
let url: string
const registry = new Registry()
const memory = memoryLogger()

beforeAll(async () => {
  const auth = Auth.withTokens(TokenSet.of({ read: [T.read], admin: [T.admin], node: [T.node], publish: [T.publish] }), { log: memory.log, registry })
  const gate = auth.gate({ name: 'test', host: '0.0.0.0', scopes: scopesOfRoutes(routes) })
  server = createServer(connectNodeAdapter({ routes, interceptors: [authInterceptor(gate)] }))
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
})

const clients = (token?: string, header?: string) => {
  const interceptors = token != null ? [bearerInterceptor(token)] : header != null ? [((next: any) => async (req: any) => { req.header.set('authorization', header); return await next(req) })] : []
  const transport = createConnectTransport({ baseUrl: url, httpVersion: '1.1', interceptors })
  return { admin: createClient(AdminService, transport), tracker: createClient(TrackerService, transport), control: createClient(ControlService, transport) }
}
const codeOf = async (p: Promise<unknown>): Promise<Code | 'ok'> => p.then(() => 'ok' as const, (e: unknown) => ConnectError.from(e).code)
const drain = async (s: AsyncIterable<unknown>): Promise<void> => { for await (const _ of s) { /* read */ } }

describe('authInterceptor over a real HTTP connection', () => {
  it('maps methods to scopes', () => {
    expect(scopeOfMethod('codio.admin.v1.AdminService', 'GetStatus')).toBe('read')
    expect(scopeOfMethod('codio.admin.v1.AdminService', 'ListBans')).toBe('read')
    expect(scopeOfMethod('codio.admin.v1.AdminService', 'Prefetch')).toBe('admin')
    expect(scopeOfMethod('codio.admin.v1.AdminService', 'Drain')).toBe('admin')
    expect(scopeOfMethod('codio.tracker.v1.TrackerService', 'SelectPeers')).toBe('read')
    expect(scopeOfMethod('codio.tracker.v1.ControlService', 'Watch')).toBe('node')
    expect(scopeOfMethod('codio.tracker.v1.ControlService', 'ReportJobProgress')).toBe('node')
    expect(scopeOfMethod('codio.tracker.v1.ControlService', 'GetJob')).toBe('read')
    expect(scopeOfMethod('codio.tracker.v1.ControlService', 'CreatePreheatJob')).toBe('admin')
    expect([...scopesOfRoutes(routes)].sort()).toEqual(['admin', 'node', 'read'])
  })

  it('refuses a call without a token or with a wrong one (unauthenticated), a read token on a write call (permission_denied); counts and logs each without the token', async () => {
    const before = await registry.metrics()
    expect(await codeOf(clients().admin.getStatus({}))).toBe(Code.Unauthenticated)
    expect(await codeOf(clients(tok()).admin.getStatus({}))).toBe(Code.Unauthenticated)
    expect(await codeOf(clients(undefined, `Basic ${T.admin}`).admin.getStatus({}))).toBe(Code.Unauthenticated)
    expect(await codeOf(clients(T.read).admin.purge({ contentId: 'x' }))).toBe(Code.PermissionDenied)
    expect(await codeOf(clients(T.publish).admin.getStatus({}))).toBe(Code.PermissionDenied)
    expect(await codeOf(clients(T.read).control.updateClusterConfig({}))).toBe(Code.PermissionDenied)
    expect(await codeOf(drain(clients(T.read).control.watch({})))).toBe(Code.PermissionDenied)
    expect(await codeOf(drain(clients(T.admin).control.watch({})))).toBe(Code.PermissionDenied)
    expect(await codeOf(drain(clients().control.watch({})))).toBe(Code.Unauthenticated)
    const after = await registry.metrics()
    expect(failures(before, {})).toBe(0)
    expect(failures(after, { endpoint: 'codio.admin.v1.AdminService/GetStatus', reason: 'missing' })).toBe(1)
    expect(failures(after, { endpoint: 'codio.admin.v1.AdminService/GetStatus', reason: 'invalid' })).toBe(2)
    expect(failures(after, { endpoint: 'codio.admin.v1.AdminService/GetStatus', reason: 'forbidden' })).toBe(1)
    expect(failures(after, { endpoint: 'codio.admin.v1.AdminService/Purge', reason: 'forbidden' })).toBe(1)
    expect(failures(after, { endpoint: 'codio.tracker.v1.ControlService/Watch' })).toBe(3)
    const logged = memory.text()
    expect(logged.match(/request refused/g)?.length).toBe(9)
    for (const t of Object.values(T)) expect(logged).not.toContain(t)
  })

  it('lets a token with the scope through: admin and node tokens read, node watches, admin writes', async () => {
    expect(await codeOf(clients(T.read).admin.getStatus({}))).toBe('ok')
    expect(await codeOf(clients(T.admin).admin.getStatus({}))).toBe('ok')
    expect(await codeOf(clients(T.admin).admin.purge({ contentId: 'x' }))).toBe('ok')
    expect(await codeOf(clients(T.node).tracker.selectPeers({ contentId: 'x', count: 1 }))).toBe('ok')
    expect(await codeOf(clients(T.read).tracker.selectPeers({ contentId: 'x', count: 1 }))).toBe('ok')
    expect(await codeOf(drain(clients(T.node).control.watch({})))).toBe('ok')
    expect(await codeOf(clients(T.admin).control.updateClusterConfig({}))).toBe('ok')
    // a method not implemented still needs credentials before it says so
    expect(await codeOf(clients().admin.drain({}))).toBe(Code.Unauthenticated)
    expect(await codeOf(clients(T.admin).admin.drain({}))).toBe(Code.Unimplemented)
  })

  it('sends the Bearer challenge with unauthenticated, over plain HTTP', async () => {
    const res = await fetch(`${url}/codio.admin.v1.AdminService/GetStatus`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="codio"')
    expect(await res.json()).toMatchObject({ code: 'unauthenticated' })
    const denied = await fetch(`${url}/codio.admin.v1.AdminService/Purge`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `bearer ${T.read}` }, body: '{}' })
    expect(denied.status).toBe(403)
    expect(await denied.json()).toMatchObject({ code: 'permission_denied' })
  })
})
