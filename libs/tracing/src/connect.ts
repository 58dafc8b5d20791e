import type { ConnectError, Interceptor } from '@connectrpc/connect'
import { context, SpanKind, trace } from '@opentelemetry/api'
import { extractHeaders, injectHeaders } from './propagation.js'
import { recordError, tracer } from './spans.js'

const rpcTracer = tracer('@codio/tracing/connect')

/**
 * A ConnectRPC interceptor that opens one span per call, named `<package.Service>/<Method>`,
 * with the OTel RPC semantic conventions (`rpc.system` = `connect_rpc`, `rpc.service`,
 * `rpc.method`, and `rpc.connect_rpc.error_code` when the call fails).
 *
 * - `server`: kind SERVER, child of the `traceparent` header the caller sent (a malformed one
 *   is ignored). Put it first in the list so that the span covers the other interceptors
 *   (a token check): a call they refuse is a span with its Connect code.
 * - `client`: kind CLIENT, child of the active span; the call carries its `traceparent`.
 *
 * A streaming call's span ends when its response starts, not when the stream ends.
 */
export function tracingInterceptor (side: 'server' | 'client'): Interceptor {
  return (next) => async (req) => {
    const parent = side === 'server' ? (extractHeaders(req.header) ?? context.active()) : context.active()
    const span = rpcTracer.startSpan(`${req.service.typeName}/${req.method.name}`, {
      kind: side === 'server' ? SpanKind.SERVER : SpanKind.CLIENT,
      attributes: { 'rpc.system': 'connect_rpc', 'rpc.service': req.service.typeName, 'rpc.method': req.method.name }
    }, parent)
    const ctx = trace.setSpan(parent, span)
    if (side === 'client') injectHeaders(req.header, ctx)
    try {
      return await context.with(ctx, async () => await next(req))
    } catch (err) {
      // by name, not instanceof: this lib loads no Connect code of its own
      if ((err as Error)?.name === 'ConnectError') span.setAttribute('rpc.connect_rpc.error_code', codeName((err as ConnectError).code))
      throw recordError(span, err)
    } finally {
      span.end()
    }
  }
}

/** Connect's code in its wire spelling (`not_found`), as the semantic conventions ask. */
function codeName (code: number): string {
  return CODES[code] ?? String(code)
}

const CODES = ['ok', 'canceled', 'unknown', 'invalid_argument', 'deadline_exceeded', 'not_found', 'already_exists', 'permission_denied', 'resource_exhausted', 'failed_precondition', 'aborted', 'out_of_range', 'unimplemented', 'internal', 'unavailable', 'data_loss', 'unauthenticated']
