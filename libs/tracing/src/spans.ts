import { context, SpanStatusCode, trace, type Context, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api'

/**
 * The tracer of one instrumentation scope (e.g. `@codio/peer`). Before the SDK starts, or when
 * tracing is off, it is the API's proxy of the no-op tracer: spans are non-recording and free.
 */
export function tracer (scope: string): Tracer {
  return trace.getTracer(scope)
}

/**
 * Mark `span` failed: the exception recorded as an `exception` event (OTel semantic
 * conventions: exception.type/message/stacktrace), status ERROR with the message, and
 * `error.type` set to the error's `name`. Returns `err` for rethrowing.
 */
export function recordError<E> (span: Span, err: E): E {
  const e = err instanceof Error ? err : new Error(String(err))
  span.recordException(e)
  span.setAttribute('error.type', e.name)
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message })
  return err
}

/**
 * Run `fn` inside a new span (the active span, so spans opened in `fn` are its children) and
 * end it when `fn` settles. A throw or rejection is recorded on the span (see
 * {@link recordError}) and passed on unchanged.
 *
 * @param parent the context to open the span in; default the active one
 */
export async function withSpan<T> (t: Tracer, name: string, options: SpanOptions, fn: (span: Span) => Promise<T> | T, parent: Context = context.active()): Promise<T> {
  const span = t.startSpan(name, options, parent)
  try {
    return await context.with(trace.setSpan(parent, span), async () => await fn(span))
  } catch (err) {
    throw recordError(span, err)
  } finally {
    span.end()
  }
}

/** Run `fn` with `span` as the active span (its async continuations included). */
export function withActive<T> (span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn)
}
