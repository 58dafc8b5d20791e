import type { FastifyInstance } from 'fastify'
import { Counter, Histogram, type Registry } from '@codio/telemetry'

/** Seconds; from a health check (sub-millisecond) to a large download over a slow link. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
/** Bytes; 100 B (an error body) to 4 GiB, by factors of 4. */
const SIZE_BUCKETS = Array.from({ length: 12 }, (_, i) => 100 * 4 ** i)

/**
 * Counts and times every HTTP request `app` answers, the same names in every role:
 * `codio_http_requests_total{method, route, status}`,
 * `codio_http_request_duration_seconds{method, route}` (from the request's arrival to the last
 * byte of the response handed to the socket, so a streamed download counts whole) and
 * `codio_http_response_size_bytes{method, route}` (the `Content-Length` the response declared;
 * 0 for HEAD and for responses without one). `route` is the route's pattern
 * (`/content/:cid`), never the raw path, so content IDs do not become series; requests no
 * route matched are `route="unmatched"`. `status` is the HTTP status code, the one label name
 * for it in every Codio metric.
 */
export function registerHttpMetrics (app: FastifyInstance, registry: Registry): void {
  const registers = [registry]
  const requests = new Counter({ name: 'codio_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status code', labelNames: ['method', 'route', 'status'] as const, registers })
  const duration = new Histogram({ name: 'codio_http_request_duration_seconds', help: 'From an HTTP request\'s arrival to the end of its response, by method and route pattern', labelNames: ['method', 'route'] as const, buckets: DURATION_BUCKETS, registers })
  const size = new Histogram({ name: 'codio_http_response_size_bytes', help: 'Declared body size (Content-Length) of HTTP responses, by method and route pattern', labelNames: ['method', 'route'] as const, buckets: SIZE_BUCKETS, registers })
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    const method = request.method
    requests.inc({ method, route, status: reply.statusCode })
    duration.observe({ method, route }, reply.elapsedTime / 1000)
    const length = Number(reply.getHeader('content-length') ?? 0)
    size.observe({ method, route }, method === 'HEAD' || !Number.isFinite(length) ? 0 : length)
  })
}
