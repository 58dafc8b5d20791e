import { context, extractHeaders, SpanKind, SpanStatusCode, trace, tracer, type Span } from '@codio/tracing'
import type { Logger } from '@codio/telemetry'
import type { FastifyReply, FastifyRequest } from 'fastify'

const httpTracer = tracer('@codio/service')

/** What a content handler tells the request's span and access log line. */
export interface RequestTrace {
  readonly span: Span
  /** Edge: `hit` when every chunk was local, `miss` when the swarm fetched it; unset before resolution (and elsewhere). */
  cache?: 'hit' | 'miss'
  /** Body bytes handed to the response stream so far. */
  bytes: number
}

export interface TracedRouteInit {
  /** The route template, e.g. `/content/:cid` (`http.route`). */
  route: string
  log: Logger
  /** Write one `component: "access"` line per request (the edge's config `http.accessLog`). Default false. */
  accessLog?: boolean
}

type Handler<R extends FastifyRequest> = (request: R, reply: FastifyReply, rt: RequestTrace) => Promise<FastifyReply>

/**
 * Wrap a route handler in an HTTP SERVER span (OTel HTTP semantic conventions: span name
 * `<method> <route>`, `http.request.method`, `url.path`, `url.scheme`, `http.route`,
 * `server.address`, `server.port`, `client.address`, `user_agent.original`, and at the end
 * `http.response.status_code`, `http.response.body.size`; status ERROR on 5xx or a response
 * cut off), a child of the client's `traceparent` header when it sends a valid one. The span
 * ends, and the access log line is written, when the response closes: a streamed body is
 * inside the request's time. Everything the handler opens (resolution, download) is its child.
 */
export function tracedRoute<R extends FastifyRequest> (init: TracedRouteInit, handler: Handler<R>): (request: R, reply: FastifyReply) => Promise<FastifyReply> {
  const access = init.log.child({ component: 'access' })
  return async (request, reply) => {
    const t0 = performance.now()
    const method = request.method
    const path = request.url.split('?')[0]
    const parent = extractHeaders({ get: k => first(request.headers[k]), set: () => {} }) ?? context.active()
    const span = httpTracer.startSpan(`${method} ${init.route}`, {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': method,
        'url.path': path,
        'url.scheme': request.protocol,
        'http.route': init.route,
        'server.address': request.hostname,
        'server.port': request.port ?? undefined,
        'client.address': request.ip,
        'user_agent.original': first(request.headers['user-agent']),
        'network.protocol.version': request.raw.httpVersion
      }
    }, parent)
    const ctx = trace.setSpan(parent, span)
    const rt: RequestTrace = { span, bytes: 0 }
    reply.raw.once('close', () => {
      const status = reply.statusCode
      const finished = reply.raw.writableFinished
      const bytes = rt.bytes > 0 || method === 'HEAD' ? rt.bytes : Number(reply.getHeader('content-length') ?? 0)
      span.setAttributes({ 'http.response.status_code': status, 'http.response.body.size': bytes })
      if (rt.cache != null) span.setAttribute('codio.cache.result', rt.cache)
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
      else if (!finished) span.setStatus({ code: SpanStatusCode.ERROR, message: 'response closed before its end' })
      span.end()
      if (init.accessLog === true) {
        const sc = span.spanContext()
        // inside the request's span, so the logger's trace mixin names it and no other request's
        context.with(ctx, () => access.info({
          method,
          path,
          status,
          bytes,
          durationMs: Math.round((performance.now() - t0) * 1000) / 1000,
          cache: rt.cache,
          complete: finished,
          trace_id: trace.isSpanContextValid(sc) ? sc.traceId : undefined
        }, 'request'))
      }
    })
    return await context.with(ctx, async () => await handler(request, reply, rt))
  }
}

function first (h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h
}
