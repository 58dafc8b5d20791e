import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chunkCid, chunkStream, encodeManifest, manifestCid, signManifest, type CID } from '@codio/content'
import { CodioPeer } from '@codio/peer'
import { encodePublicKey, generateKeyPair, TrustedKeys, type PublisherKeyPair } from '@codio/signing'
import { createLogger, createMetricsRegistry } from '@codio/telemetry'
import { until } from '@codio/testing'
import { createEdge, type Edge } from '../src/edge.js'
import { edgeConfigSchema } from '../src/config.js'
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'

const log = createLogger({ name: 'edge-test', level: 'silent' })
// a real SDK tracer provider, exporting to memory what the OTLP exporter would send
const spans = new InMemorySpanExporter()
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] }))

/** A seeding peer built from the libs: it holds one signed content and provides it. */
async function seed (dir: string, publisher: PublisherKeyPair, bytes: Uint8Array): Promise<{ peer: CodioPeer, contentId: CID }> {
  const peer = await CodioPeer.create({ role: 'origin', dataDir: dir, quic: false, trustedKeys: new TrustedKeys([publisher.publicKey]), log, registry: createMetricsRegistry({ role: 'origin', processMetrics: false }) })
  await peer.start()
  return { peer, contentId: await addContent(peer, publisher, bytes) }
}

/** Store a signed content at `peer` and provide it; without its chunk `missing` (then nobody can serve that one). */
async function addContent (peer: CodioPeer, publisher: PublisherKeyPair, bytes: Uint8Array, missing?: number): Promise<CID> {
  const chunks: CID[] = []
  for await (const c of chunkStream((async function * () { yield bytes })(), 65536)) {
    const cid = chunkCid(c)
    if (chunks.length !== missing) await peer.store.put(cid, c)
    chunks.push(cid)
  }
  const manifest = await signManifest({ version: 1, size: bytes.length, mediaType: 'application/octet-stream', chunkSize: 65536, chunks, createdAt: Date.now(), publisher: publisher.publicKey }, publisher)
  const encoded = encodeManifest(manifest)
  const contentId = manifestCid(encoded)
  await peer.store.put(contentId, encoded)
  await peer.markComplete(contentId)
  return contentId
}

describe('edge against a seeding peer', () => {
  let dir: string
  let seeder: CodioPeer
  let contentId: CID
  let trusting: Edge
  let untrusting: Edge
  /** An edge with `http.accessLog = true`, logging to `accessFile`. */
  let logging: Edge
  let accessFile: string
  let publisher: PublisherKeyPair
  const bytes = randomBytes(500_000)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codio-edge-'))
    publisher = await generateKeyPair()
    ;({ peer: seeder, contentId } = await seed(join(dir, 'seed'), publisher, bytes))
    const bootstrap = [`${seeder.node.getMultiaddrs()[0].toString()}`]
    const make = async (name: string, key: string, accessLog = false, logger = log): Promise<Edge> => {
      const e = await createEdge(edgeConfigSchema.parse({
        dataDir: join(dir, name), http: { port: 0, accessLog }, admin: { port: 0 },
        p2p: { bootstrap, quic: false, listen: ['/ip4/127.0.0.1/tcp/0'] },
        trust: { publisherKeys: [key] }, fetch: { lookupTimeout: '3s' }
      }), logger, 'test')
      await e.start()
      return e
    }
    trusting = await make('trusting', encodePublicKey(publisher.publicKey))
    untrusting = await make('untrusting', encodePublicKey((await generateKeyPair()).publicKey))
    accessFile = join(dir, 'access.log')
    logging = await make('logging', encodePublicKey(publisher.publicKey), true, createLogger({ name: 'edge-logging', level: 'info', destination: accessFile }))
    // ready edges, and the seeder's record announced now that it has DHT peers to hold it
    await until(() => trusting.peer.isReady() && untrusting.peer.isReady() && logging.peer.isReady() && seeder.pendingAnnouncements() === 0, 10_000, 'the edges ready and the seeder\'s record announced')
  })

  afterAll(async () => {
    await Promise.all([trusting?.stop(), untrusting?.stop(), logging?.stop(), seeder?.stop()])
    await rm(dir, { recursive: true, force: true })
  })

  it('writes one access line per content request when http.accessLog is on, with the trace ID of its server span', async () => {
    spans.reset()
    const url = `${logging.httpUrl}/content/${contentId}`
    // a client's malformed traceparent is ignored: the request is served in a trace of its own
    const cold = await fetch(url, { headers: { traceparent: '00-not-a-trace-id-01' } })
    expect([cold.status, (await cold.arrayBuffer()).byteLength]).toEqual([200, bytes.length])
    // the download records the content as held just after its last chunk (its block names synced first)
    await until(async () => (await logging.peer.store.listContents()).some(c => c.toString() === contentId.toString()), 10_000, 'the content recorded as held')
    const hit = await fetch(url, { headers: { range: 'bytes=0-99' } })
    expect([hit.status, (await hit.arrayBuffer()).byteLength]).toEqual([206, 100])
    expect((await fetch(`${logging.httpUrl}/content/not-a-cid`)).status).toBe(400)
    const server = (): ReturnType<typeof spans.getFinishedSpans> => spans.getFinishedSpans().filter(s => s.name === 'GET /content/:cid')
    await until(() => server().length === 3, 10_000, 'three server spans')
    let lines: any[] = []
    await until(async () => {
      const all = (await readFile(accessFile, 'utf8').catch(() => '')).trim().split('\n').filter(l => l !== '').map(l => JSON.parse(l))
      lines = all.filter(l => l.component === 'access')
      return lines.length === 3
    }, 10_000, 'three access lines')
    expect(lines.map(l => [l.method, l.path, l.status, l.bytes, l.cache])).toEqual([
      ['GET', `/content/${contentId}`, 200, bytes.length, 'miss'],
      ['GET', `/content/${contentId}`, 206, 100, 'hit'],
      ['GET', '/content/not-a-cid', 400, expect.any(Number), undefined]
    ])
    for (const l of lines) expect(l.durationMs).toBeGreaterThan(0)
    // each line names the trace of its request's server span, which is a root (no parent)
    expect(lines.map(l => l.trace_id)).toEqual(server().map(s => s.spanContext().traceId))
    expect(server().map(s => s.parentSpanContext)).toEqual([undefined, undefined, undefined])
    expect(server().map(s => s.attributes['http.response.status_code'])).toEqual([200, 206, 400])
    expect(server()[0].attributes).toMatchObject({ 'http.request.method': 'GET', 'http.route': '/content/:cid', 'url.path': `/content/${contentId}`, 'codio.cache.result': 'miss', 'http.response.body.size': bytes.length })
    // the download and the seeder's serving spans are in the first request's trace
    const first = server()[0].spanContext().traceId
    const inTrace = spans.getFinishedSpans().filter(s => s.spanContext().traceId === first).map(s => s.name)
    expect(inTrace).toEqual(expect.arrayContaining(['peer.resolve', 'manifest.fetch', 'manifest.verify', 'swarm.download', 'chunk serve']))
  })

  it('serves content signed by a trusted key', async () => {
    const res = await fetch(`${trusting.httpUrl}/content/${contentId}`)
    expect(res.status).toBe(200)
    expect(Buffer.compare(Buffer.from(await res.arrayBuffer()), bytes)).toBe(0)
  })

  it('answers 502 with the reason for a manifest signed by an untrusted key, and caches nothing', async () => {
    const res = await fetch(`${untrusting.httpUrl}/content/${contentId}`)
    expect(res.status).toBe(502)
    const body = await res.json() as { error: string, message: string }
    expect(body.error).toBe('UntrustedPublisherError')
    expect(body.message).toMatch(/not trusted|untrusted/i)
    // an error is not the content: no cache may keep it under the content's ETag
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('etag')).toBeNull()
    expect(await untrusting.peer.store.get(contentId)).toBeUndefined()
    expect((await untrusting.peer.store.stats()).blocks).toBe(0)
  })

  it('answers 502 with the reason, not a cacheable 500, when the first chunk cannot be had (issue 19)', async () => {
    const broken = randomBytes(200_000)
    const missing = await addContent(seeder, publisher, broken, 0)
    const res = await fetch(`${trusting.httpUrl}/content/${missing}`)
    const body = await res.json() as { error: string, message: string }
    expect(res.status).toBe(502)
    expect(body.error).toBe('ChunkUnavailableError')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('etag')).toBeNull()
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    // the edge still serves what it can
    const ok = await fetch(`${trusting.httpUrl}/content/${contentId}`)
    expect(Buffer.compare(Buffer.from(await ok.arrayBuffer()), bytes)).toBe(0)
  }, 30_000)

  it('serves several byte ranges as multipart/byteranges', async () => {
    const res = await fetch(`${trusting.httpUrl}/content/${contentId}`, { headers: { range: 'bytes=0-9,200000-200009' } })
    expect(res.status).toBe(206)
    const type = res.headers.get('content-type')!
    expect(type).toMatch(/^multipart\/byteranges; boundary=/)
    const body = Buffer.from(await res.arrayBuffer())
    expect(body.length).toBe(Number(res.headers.get('content-length')))
    const text = body.toString('latin1')
    expect(text).toContain('content-range: bytes 0-9/500000')
    expect(text).toContain('content-range: bytes 200000-200009/500000')
    expect(body.includes(bytes.subarray(200000, 200010))).toBe(true)
  })

  it('answers 416 to an unsatisfiable range', async () => {
    const res = await fetch(`${trusting.httpUrl}/content/${contentId}`, { headers: { range: 'bytes=900000-900010' } })
    expect(res.status).toBe(416)
    expect(res.headers.get('content-range')).toBe('bytes */500000')
  })
})
