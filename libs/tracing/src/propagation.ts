import { context as apiContext, ROOT_CONTEXT, type Context, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'

/**
 * The W3C Trace Context (https://www.w3.org/TR/trace-context/) of a span as two strings, the
 * shape the chunk exchange's `Request` message carries (`traceparent`, `tracestate`). Empty
 * strings when there is no valid span (tracing off): proto3 does not encode them then.
 */
export interface TraceCarrier {
  traceparent: string
  tracestate: string
}

const w3c = new W3CTraceContextPropagator()

const recordGetter: TextMapGetter<Record<string, string>> = {
  keys: c => Object.keys(c),
  get: (c, k) => c[k]
}
const recordSetter: TextMapSetter<Record<string, string>> = {
  set: (c, k, v) => { c[k] = v }
}

/** The trace context of `ctx` (default: the active one) to send along with a request. */
export function injectTrace (ctx: Context = apiContext.active()): TraceCarrier {
  const c: Record<string, string> = {}
  w3c.inject(ctx, c, recordSetter)
  return { traceparent: c.traceparent ?? '', tracestate: c.tracestate ?? '' }
}

/**
 * The context a received `traceparent` (and `tracestate`) names, as the parent of the span
 * serving it; `undefined` when the request carries none or a malformed one (ignored, per
 * W3C Trace Context §4.3: a receiver that cannot parse it starts a new trace, never fails).
 */
export function extractTrace (carrier: { traceparent?: string, tracestate?: string }): Context | undefined {
  if (carrier.traceparent == null || carrier.traceparent === '') return undefined
  const c: Record<string, string> = { traceparent: carrier.traceparent }
  if (carrier.tracestate != null && carrier.tracestate !== '') c.tracestate = carrier.tracestate
  const ctx = w3c.extract(ROOT_CONTEXT, c, recordGetter)
  return ctx === ROOT_CONTEXT ? undefined : ctx
}

/** Headers as NATS (`MsgHdrs`) and the Fetch API (`Headers`) both expose them. */
export interface HeaderCarrier {
  get(key: string): string | null | undefined
  set(key: string, value: string): void
}

/** Put the trace context of `ctx` (default: the active one) into headers (NATS message, HTTP request). */
export function injectHeaders (headers: HeaderCarrier, ctx: Context = apiContext.active()): void {
  const { traceparent, tracestate } = injectTrace(ctx)
  if (traceparent !== '') headers.set('traceparent', traceparent)
  if (tracestate !== '') headers.set('tracestate', tracestate)
}

/** The trace context carried in headers, or `undefined` (none, or malformed: ignored). */
export function extractHeaders (headers: HeaderCarrier | undefined): Context | undefined {
  if (headers == null) return undefined
  return extractTrace({ traceparent: headers.get('traceparent') ?? undefined, tracestate: headers.get('tracestate') ?? undefined })
}
