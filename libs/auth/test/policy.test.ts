import { describe, expect, it } from '@jest/globals'
import { Auth, AuthRequiredError, isLoopback, TokenSet } from '../src/index.js'
import { memoryLogger } from './helpers.js'

const T = 'a'.repeat(20)

describe('when credentials are required', () => {
  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) expect([h, isLoopback(h)]).toEqual([h, true])
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'edge-1', 'localhost.example.com', '::ffff:10.0.0.1']) expect([h, isLoopback(h)]).toEqual([h, false])
  })

  it('serves loopback openly without tokens, refuses to start beyond it naming the settings to add', () => {
    const { log } = memoryLogger()
    const auth = Auth.withTokens(TokenSet.of({}), { log })
    expect(auth.gate({ name: 'admin', host: '127.0.0.1', scopes: ['read', 'admin'] }).enforced).toBe(false)
    expect(() => auth.gate({ name: 'admin', host: '0.0.0.0', port: 7071, scopes: ['read', 'admin'] })).toThrow(AuthRequiredError)
    const message = (() => { try { auth.gate({ name: 'admin', host: '0.0.0.0', port: 7071, scopes: ['read', 'admin'] }) } catch (e) { return (e as Error).message } })()
    expect(message).toContain('admin listener on 0.0.0.0:7071')
    expect(message).toContain('auth.adminTokenFiles')
    expect(message).toContain('auth.readTokenFiles')
    expect(message).toContain('auth.required = "never"')
    // nothing to protect (an edge's public HTTP port): no requirement
    expect(auth.gate({ name: 'http', host: '0.0.0.0', scopes: [] }).enforced).toBe(false)
  })

  it('asks only for the scopes no token grants: an admin token covers read', () => {
    const { log } = memoryLogger()
    const auth = Auth.withTokens(TokenSet.of({ admin: [T] }), { log })
    expect(auth.gate({ name: 'admin', host: '0.0.0.0', scopes: ['read', 'admin'] }).enforced).toBe(true)
    expect(() => auth.gate({ name: 'ingest', host: '0.0.0.0', scopes: ['publish'] })).toThrow(/auth\.publishTokenFiles/)
    expect(() => auth.gate({ name: 'rpc', host: '0.0.0.0', scopes: ['read', 'node', 'admin'] })).toThrow(/grants node: set auth\.nodeTokenFiles/)
  })

  it('enforces configured tokens on loopback too; "always" requires them there; "never" opts out with a warning', () => {
    const { log, text } = memoryLogger()
    expect(Auth.withTokens(TokenSet.of({ read: [T] }), { log }).gate({ name: 'admin', host: '127.0.0.1', scopes: ['read'] }).enforced).toBe(true)
    expect(() => Auth.withTokens(TokenSet.of({}), { log, config: { required: 'always' } }).gate({ name: 'admin', host: '127.0.0.1', scopes: ['read'] }))
      .toThrow(/auth\.required = "always"/)
    const open = Auth.withTokens(TokenSet.of({ admin: [T] }), { log, config: { required: 'never' } }).gate({ name: 'admin', host: '0.0.0.0', scopes: ['admin'] })
    expect(open.enforced).toBe(false)
    expect(open.authorize(undefined, 'admin', 'x')).toEqual({ ok: true })
    expect(text()).toContain('credentials disabled (auth.required = \\"never\\")')
  })
})
