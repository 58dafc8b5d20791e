import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Readable } from 'node:stream'
import { createMetricsRegistry, type Registry } from '@codio/telemetry'
import Fastify, { type FastifyInstance } from 'fastify'
import { registerHealthRoutes } from '../src/health.js'

// The HTTP metrics of every Codio listener, as Prometheus scrapes them (GET /metrics), over a
// real server and a real HTTP client.

describe('HTTP metrics of a listener', () => {
  let app: FastifyInstance
  let base: string
  let registry: Registry

  /** The value of one sample line of GET /metrics; undefined when absent. */
  async function sample (series: string): Promise<number | undefined> {
    const text = await (await fetch(`${base}/metrics`)).text()
    const line = text.split('\n').find(l => l.startsWith(`${series} `))
    return line == null ? undefined : Number(line.slice(series.length + 1))
  }

  beforeAll(async () => {
    registry = createMetricsRegistry({ role: 'edge', processMetrics: false })
    app = Fastify()
    registerHealthRoutes(app, { ready: () => true, registry })
    app.get('/content/:cid', async (request, reply) => {
      const { cid } = request.params as { cid: string }
      if (cid === 'missing') return await reply.code(404).send({ error: 'ContentNotFoundError' })
      const body = Buffer.alloc(3000, 1)
      // a streamed body: the duration must count until its end
      const slow = Readable.from((async function * () {
        yield body.subarray(0, 1000)
        await new Promise(resolve => setTimeout(resolve, 150))
        yield body.subarray(1000)
      })())
      return await reply.header('content-length', body.byteLength).send(slow)
    })
    await app.listen({ host: '127.0.0.1', port: 0 })
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  })

  afterAll(async () => {
    await app?.close()
  })

  it('counts requests by method, route pattern and status; times them to the last byte; sizes them by Content-Length', async () => {
    for (const path of ['/content/a', '/content/b', '/content/missing', '/nowhere']) await (await fetch(`${base}${path}`)).arrayBuffer()
    expect((await fetch(`${base}/content/a`, { method: 'HEAD' })).status).toBe(200)

    // the route's pattern, never the raw path: content IDs do not become series
    expect(await sample('codio_http_requests_total{method="GET",route="/content/:cid",status="200",role="edge"}')).toBe(2)
    expect(await sample('codio_http_requests_total{method="GET",route="/content/:cid",status="404",role="edge"}')).toBe(1)
    expect(await sample('codio_http_requests_total{method="HEAD",route="/content/:cid",status="200",role="edge"}')).toBe(1)
    expect(await sample('codio_http_requests_total{method="GET",route="unmatched",status="404",role="edge"}')).toBe(1)
    const text = await (await fetch(`${base}/metrics`)).text()
    expect(text).not.toMatch(/route="\/content\/a"/)

    expect(await sample('codio_http_request_duration_seconds_count{role="edge",method="GET",route="/content/:cid"}')).toBe(3)
    // two streamed bodies of 150 ms each, and one quick 404
    const seconds = (await sample('codio_http_request_duration_seconds_sum{role="edge",method="GET",route="/content/:cid"}'))!
    expect(seconds).toBeGreaterThanOrEqual(0.3)
    expect(await sample('codio_http_request_duration_seconds_bucket{le="0.1",role="edge",method="GET",route="/content/:cid"}')).toBe(1)

    // 2 × 3000 bytes plus the 404's JSON body; HEAD counts 0 (no body is sent)
    const bytes = (await sample('codio_http_response_size_bytes_sum{role="edge",method="GET",route="/content/:cid"}'))!
    expect(bytes).toBeGreaterThan(6000)
    expect(bytes).toBeLessThan(6100)
    expect(await sample('codio_http_response_size_bytes_sum{role="edge",method="HEAD",route="/content/:cid"}')).toBe(0)
    expect(await sample('codio_http_response_size_bytes_bucket{le="6400",role="edge",method="GET",route="/content/:cid"}')).toBe(3)
  })
})
