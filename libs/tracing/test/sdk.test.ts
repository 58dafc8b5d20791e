import { describe, expect, it } from '@jest/globals'
import { trace } from '@opentelemetry/api'
import { startTracing, tracer, tracingRequested } from '../src/index.js'

describe('startTracing', () => {
  it('starts nothing without an OTLP endpoint: the API keeps its no-op tracer', async () => {
    const tracing = await startTracing({ role: 'edge', env: { OTEL_TRACES_SAMPLER: 'always_on' } })
    expect(tracing.enabled).toBe(false)
    expect(tracing.serviceName).toBe('codio-edge')
    const span = tracer('test').startSpan('x')
    expect(span.isRecording()).toBe(false)
    expect(trace.isSpanContextValid(span.spanContext())).toBe(false)
    span.end()
    await tracing.shutdown()
  })

  it('asks for tracing only with an endpoint, and not when the SDK is disabled', () => {
    expect(tracingRequested({})).toBe(false)
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBe(false)
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true)
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true)
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'TRUE' })).toBe(false)
  })

  it('names the service after OTEL_SERVICE_NAME when set', async () => {
    expect((await startTracing({ role: 'relay', env: { OTEL_SERVICE_NAME: 'relay-eu-1' } })).serviceName).toBe('relay-eu-1')
  })
})
