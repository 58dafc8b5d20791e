import { describe, expect, it } from '@jest/globals'
import { context, trace } from '@opentelemetry/api'
import { extractTrace, startTracing, tracer } from '../src/index.js'

describe('startTracing with an endpoint', () => {
  it('starts the SDK, sampling parentbased_traceidratio by OTEL_TRACES_SAMPLER_ARG when no sampler is named', async () => {
    // nothing listens on port 9 (discard): no span is exported here, the export is not the point
    process.env.OTEL_EXPORTER_OTLP_TIMEOUT = '200'
    const tracing = await startTracing({ role: 'origin', env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_TRACES_SAMPLER_ARG: '0' } })
    expect(tracing).toMatchObject({ enabled: true, serviceName: 'codio-origin' })
    const t = tracer('test')
    // ratio 0: a new trace is not sampled, but its context is real (it propagates)
    const root = t.startSpan('root')
    expect(root.isRecording()).toBe(false)
    expect(trace.isSpanContextValid(root.spanContext())).toBe(true)
    root.end()
    // parent-based: a request whose caller sampled its trace is recorded here too
    const parent = extractTrace({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })!
    const child = t.startSpan('child', {}, parent)
    expect(child.isRecording()).toBe(true)
    expect(child.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c')
    child.end()
    // the SDK's context manager is in place: a span made active is seen inside
    context.with(trace.setSpan(context.active(), child), () => { expect(trace.getActiveSpan()).toBe(child) })
    await tracing.shutdown()
  })
})
