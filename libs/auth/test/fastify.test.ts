import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import { Auth, requireScope, TokenSet } from '../src/index.js'
import { failures, memoryLogger } from './helpers.js'

const tok = (): string => randomBytes(32).toString('base64url')
const T = { read: tok(), publish: tok() }
let app: FastifyInstance
let url: string
const registry = new Registry()
const memory = memoryLogger()

beforeAll(async () => {
  const auth = Auth.withTokens(TokenSet.of({ read: [T.read], publish: [T.publish] }), { log: memory.log, registry })
  const gate = auth.gate({ name: 'ingest', host: '0.0.0.0', scopes: ['publish'] })
  app = Fastify()
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => done(null))
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.put('/content', { onRequest: requireScope(gate, 'publish') }, async (req) => {
    let n = 0
    for await (const b of req.raw) n += (b as Buffer).length
    return { received: n }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
})

afterAll(async () => { await app.close() })

const put = async (token?: string): Promise<Response> => await fetch(`${url}/content`, {
  method: 'PUT',
  headers: { 'content-type': 'application/octet-stream', ...(token == null ? {} : { authorization: `Bearer ${token}` }) },
  body: Buffer.alloc(100_000, 7)
})

describe('requireScope on a real Fastify server', () => {
  it('answers 401 with the Bearer challenge for no token or a wrong one, 403 for a token without the scope, and counts them', async () => {
    for (const [token, status, reason] of [[undefined, 401, 'missing'], [tok(), 401, 'invalid'], [T.read, 403, 'forbidden']] as const) {
      const res = await put(token)
      expect(res.status).toBe(status)
      expect(res.headers.get('www-authenticate')).toBe(status === 401 ? 'Bearer realm="codio"' : null)
      expect(await res.json()).toMatchObject({ reason, error: status === 401 ? 'Unauthorized' : 'Forbidden' })
    }
    const metrics = await registry.metrics()
    for (const reason of ['missing', 'invalid', 'forbidden']) expect(failures(metrics, { endpoint: 'PUT /content', reason })).toBe(1)
    expect(memory.text()).not.toContain(T.read)
  })

  it('lets the publish token through and leaves unprotected routes open', async () => {
    const res = await put(T.publish)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ received: 100_000 })
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
  })
})
