import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { lpStream } from '@libp2p/utils'
import { context, SpanKind, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { chunkCid } from '@codio/content'
import { chunkExchange, CHUNK_PROTOCOL, type ChunkExchange } from '@codio/exchange'
import { MessageSchema } from '@codio/proto'
import type { P2PNode } from '@codio/p2p'
import { startTestNode } from '@codio/p2p/testing'
import { until } from '@codio/testing'
import { MapStore } from './helpers.js'

// a real SDK tracer provider, exporting to memory what the OTLP exporter would send
const spans = new InMemorySpanExporter()
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] }))
const tracer = trace.getTracer('test')

type Node = P2PNode<{ exchange: ChunkExchange }>

describe('trace context on chunk requests (W3C traceparent in Request)', () => {
  let seed: Node
  let leecher: Node
  const chunk = randomBytes(64 * 1024)
  const cid = chunkCid(chunk)

  beforeAll(async () => {
    const store = new MapStore()
    store.blocks.set(cid.toString(), chunk)
    seed = await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks: store }) } })
    leecher = await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks: new MapStore(), requestTimeout: 10_000 }) } })
    await leecher.dial(seed.getMultiaddrs()[0])
  })

  afterAll(async () => {
    await Promise.all([seed, leecher].map(async n => n.stop()))
  })

  it('serves a request made inside a span in a SERVER span of the same trace, its child', async () => {
    spans.reset()
    const client = tracer.startSpan('download')
    const bytes = await context.with(trace.setSpan(context.active(), client), async () => await leecher.services.exchange.fetch(seed.peerId, cid))
    client.end()
    expect(Buffer.compare(bytes, chunk)).toBe(0)
    await until(() => spans.getFinishedSpans().some(s => s.name === 'chunk serve'), 5000, 'the serving span')
    const served = spans.getFinishedSpans().find(s => s.name === 'chunk serve')!
    expect(served.kind).toBe(SpanKind.SERVER)
    expect(served.spanContext().traceId).toBe(client.spanContext().traceId)
    expect(served.parentSpanContext?.spanId).toBe(client.spanContext().spanId)
    expect(served.attributes).toMatchObject({ 'network.protocol.name': CHUNK_PROTOCOL, 'codio.block.cid': cid.toString(), 'codio.block.bytes': chunk.byteLength, 'codio.peer.id': leecher.peerId.toString() })
  })

  it('names the refusal on the span of a traced request it cannot serve', async () => {
    spans.reset()
    const missing = chunkCid(randomBytes(16))
    const client = tracer.startSpan('download')
    await expect(context.with(trace.setSpan(context.active(), client), async () => await leecher.services.exchange.fetch(seed.peerId, missing))).rejects.toThrow('refused')
    client.end()
    await until(() => spans.getFinishedSpans().some(s => s.name === 'chunk serve'), 5000, 'the serving span')
    const served = spans.getFinishedSpans().find(s => s.name === 'chunk serve')!
    expect(served.attributes).toMatchObject({ 'codio.block.cid': missing.toString(), 'codio.exchange.refusal': 'NOT_FOUND' })
    expect(served.attributes['codio.block.bytes']).toBeUndefined()
  })

  it('opens no span for an untraced request', async () => {
    spans.reset()
    expect(Buffer.compare(await leecher.services.exchange.fetch(seed.peerId, cid), chunk)).toBe(0)
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(spans.getFinishedSpans().map(s => s.name)).toEqual([])
  })

  it('ignores a malformed traceparent: the block is served, and no span opened', async () => {
    spans.reset()
    const stream = await leecher.dialProtocol(seed.peerId, CHUNK_PROTOCOL)
    const lp = lpStream(stream)
    const pieces: bigint[] = []
    for (const [id, traceparent, tracestate] of [[1n, 'not-a-traceparent', 'a=b'], [2n, '00-' + 'z'.repeat(32) + '-' + '1'.repeat(16) + '-01', ''], [3n, 'x'.repeat(10_000), 'y'.repeat(10_000)]] as const) {
      await lp.write(toBinary(MessageSchema, create(MessageSchema, { payload: { case: 'request', value: { id, cid: cid.bytes, traceparent, tracestate } } })))
      const { payload } = fromBinary(MessageSchema, (await lp.read()).subarray())
      expect(payload.case).toBe('piece')
      if (payload.case === 'piece') pieces.push(payload.value.id)
    }
    expect(pieces).toEqual([1n, 2n, 3n])
    await stream.close()
    expect(spans.getFinishedSpans().map(s => s.name)).toEqual([])
  })
})
