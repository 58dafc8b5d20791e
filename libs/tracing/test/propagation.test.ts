import { describe, expect, it } from '@jest/globals'
import { context, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { extractHeaders, extractTrace, injectHeaders, injectTrace, tracer, withSpan } from '../src/index.js'

// a real SDK tracer provider exporting to memory (what the OTLP exporter would send)
const exporter = new InMemorySpanExporter()
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }))
const t = tracer('test')

describe('W3C trace context', () => {
  it('carries a span across a protobuf field and makes the remote span its child', async () => {
    const carrier = await withSpan(t, 'client', {}, async () => injectTrace())
    expect(carrier.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    const parent = extractTrace(carrier)!
    await withSpan(t, 'server', {}, async () => {}, parent)
    const [client, server] = exporter.getFinishedSpans()
    expect(server.spanContext().traceId).toBe(client.spanContext().traceId)
    expect(server.parentSpanContext?.spanId).toBe(client.spanContext().spanId)
    exporter.reset()
  })

  it('injects nothing when no span is active', () => {
    expect(injectTrace()).toEqual({ traceparent: '', tracestate: '' })
  })

  it('ignores a missing or malformed traceparent', () => {
    for (const bad of ['', 'garbage', '00-00000000000000000000000000000000-0000000000000000-01', '00-abc-def-01', 'ff-' + 'a'.repeat(32) + '-' + 'b'.repeat(16) + '-01']) {
      expect(extractTrace({ traceparent: bad, tracestate: 'x=1' })).toBeUndefined()
    }
    expect(extractTrace({})).toBeUndefined()
  })

  it('carries tracestate and traceparent in headers (NATS, HTTP)', async () => {
    const headers = new Headers()
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    injectHeaders(headers, extractTrace({ traceparent: tp, tracestate: 'congo=t61rcWkgMzE' }))
    expect(headers.get('traceparent')).toBe(tp)
    expect(headers.get('tracestate')).toBe('congo=t61rcWkgMzE')
    expect(trace.getSpanContext(extractHeaders(headers)!)?.traceId).toBe('0af7651916cd43dd8448eb211c80319c')
    expect(extractHeaders(new Headers({ traceparent: 'nonsense' }))).toBeUndefined()
    expect(extractHeaders(undefined)).toBeUndefined()
  })
})

describe('withSpan', () => {
  it('records a failure on the span and rethrows it', async () => {
    class StoreIOError extends Error { override readonly name = 'StoreIOError' }
    await expect(withSpan(t, 'write', {}, async () => { throw new StoreIOError('disk full') })).rejects.toThrow('disk full')
    const [span] = exporter.getFinishedSpans()
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'disk full' })
    expect(span.attributes['error.type']).toBe('StoreIOError')
    expect(span.events.map(e => e.name)).toEqual(['exception'])
    exporter.reset()
  })

  it('makes its span the parent of spans opened inside', async () => {
    await withSpan(t, 'outer', {}, async () => { await withSpan(t, 'inner', {}, async () => {}) })
    const [inner, outer] = exporter.getFinishedSpans()
    expect(inner.parentSpanContext?.spanId).toBe(outer.spanContext().spanId)
    exporter.reset()
  })
})
