/**
 * @packageDocumentation
 * OpenTelemetry traces for Codio processes: the Node SDK started from the standard `OTEL_*`
 * variables (off, at no cost, when no OTLP endpoint is set), a tracer per scope, a span
 * helper that records failures, W3C Trace Context carried in protobuf fields, NATS headers and
 * ConnectRPC calls.
 *
 * @example
 * ```ts
 * import { startTracing, tracer, withSpan } from '@codio/tracing'
 * const tracing = await startTracing({ role: 'edge' })    // in main.ts, before anything traced
 * const t = tracer('@codio/peer')
 * await withSpan(t, 'manifest.verify', {}, async () => { await verify(manifest) })
 * await tracing.shutdown()                                 // on stop: flush what is buffered
 * ```
 */
export { startTracing, tracingRequested, type Tracing, type TracingInit } from './sdk.js'
export { tracer, withSpan, withActive, recordError } from './spans.js'
export { injectTrace, extractTrace, injectHeaders, extractHeaders, type TraceCarrier, type HeaderCarrier } from './propagation.js'
export { tracingInterceptor } from './connect.js'
export { SpanKind, SpanStatusCode, context, trace, type Span, type Tracer, type Context, type Attributes } from '@opentelemetry/api'
