import { describe, expect, it } from '@jest/globals'
import { Code, ConnectError, createClient, createRouterTransport } from '@connectrpc/connect'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { AdminService } from '@codio/proto'
import { tracingInterceptor } from '../src/index.js'

const exporter = new InMemorySpanExporter()
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }))

// Connect's in-memory transport: the real router and client, both sides' interceptors
const transport = createRouterTransport(router => {
  router.service(AdminService, {
    getStatus: () => ({ peerId: 'p' }),
    prefetch: () => { throw new ConnectError('no such content', Code.NotFound) }
  } as any)
}, { router: { interceptors: [tracingInterceptor('server')] }, transport: { interceptors: [tracingInterceptor('client')] } })
const client = createClient(AdminService, transport)

describe('tracingInterceptor', () => {
  it('makes a CLIENT span and, as its child across the call, a SERVER span with the RPC conventions', async () => {
    exporter.reset()
    await client.getStatus({})
    const [server, clientSpan] = exporter.getFinishedSpans()
    expect([clientSpan.kind, server.kind]).toEqual([SpanKind.CLIENT, SpanKind.SERVER])
    expect(server.parentSpanContext?.spanId).toBe(clientSpan.spanContext().spanId)
    expect(server.spanContext().traceId).toBe(clientSpan.spanContext().traceId)
    expect(server.name).toBe('codio.admin.v1.AdminService/GetStatus')
    expect(server.attributes).toEqual({ 'rpc.system': 'connect_rpc', 'rpc.service': 'codio.admin.v1.AdminService', 'rpc.method': 'GetStatus' })
  })

  it('records a failed call with its Connect code on both sides', async () => {
    exporter.reset()
    await expect(client.prefetch({ contentId: 'x' })).rejects.toThrow('no such content')
    for (const s of exporter.getFinishedSpans()) {
      expect(s.attributes['rpc.connect_rpc.error_code']).toBe('not_found')
      expect(s.status.code).toBe(SpanStatusCode.ERROR)
    }
    expect(exporter.getFinishedSpans()).toHaveLength(2)
  })
})
