/**
 * The parts of `@codio/service` that need no libp2p peer: health, readiness and metrics
 * routes, shutdown and listen. Processes that are not Codio peers (the tracker) import
 * `@codio/service/health` and load nothing of libp2p.
 */
import type { FastifyInstance } from 'fastify'
import type { Logger, Registry } from '@codio/telemetry'
import { registerHttpMetrics } from './http-metrics.js'

export interface HealthInit {
  /** Whether the process can do its job now (answers `/readyz`). */
  ready(): boolean | Promise<boolean>
  registry: Registry
}

/**
 * `GET /healthz`: 200 while the process runs. `GET /readyz`: 200 when `ready()` holds, else
 * 503. `GET /metrics`: Prometheus text exposition format 0.0.4. Every request `app` answers is
 * counted and timed (see {@link registerHttpMetrics}).
 */
export function registerHealthRoutes (app: FastifyInstance, init: HealthInit): void {
  registerHttpMetrics(app, init.registry)
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    const ok = await init.ready()
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'starting' })
  })
  app.get('/metrics', async (_req, reply) => {
    return reply.header('content-type', init.registry.contentType).send(await init.registry.metrics())
  })
}

export interface ShutdownOptions {
  log: Logger
  /**
   * Longest a stop may take before the process exits anyway (ms). Default 25 000: a peer
   * service's stop drains HTTP requests for up to 20 s, inside Kubernetes' default 30 s grace.
   */
  timeoutMs?: number
  /** Stop as on a signal when this resolves, e.g. a service's `drained`. */
  trigger?: Promise<unknown>
}

/**
 * On SIGINT or SIGTERM (or when `trigger` resolves), run `stop` once, bounded by `timeoutMs`,
 * then exit (0 when the stop finished in time, 1 otherwise).
 */
export function onShutdown (stop: () => Promise<void>, options: ShutdownOptions): void {
  let stopping = false
  const handler = (signal: string): void => {
    if (stopping) return
    stopping = true
    options.log.info({ signal }, 'stopping')
    const timer = setTimeout(() => {
      options.log.error('stop timed out, exiting')
      process.exit(1)
    }, options.timeoutMs ?? 25_000)
    timer.unref()
    stop().then(() => {
      options.log.info('stopped')
      options.log.flush()
      process.exit(0)
    }, (err: Error) => {
      options.log.error({ err: err.message }, 'stop failed')
      options.log.flush()
      process.exit(1)
    })
  }
  process.once('SIGINT', handler)
  process.once('SIGTERM', handler)
  void options.trigger?.then(() => { handler('drain') })
}

/**
 * What a service does when its start is refused (token files, credentials required beyond
 * loopback, TLS files, a port in use): log it, print one clear line on stderr
 * (`<program>: cannot start: <reason>`) and exit 1 — no stack trace.
 */
export function cannotStart (program: string, log: Logger): (err: Error) => never {
  return (err) => {
    log.fatal({ err: err.message, error: err.name }, 'cannot start')
    log.flush()
    process.stderr.write(`${program}: cannot start: ${err.message}\n`)
    process.exit(1)
  }
}

/** Listen and return the base URL, e.g. `http://127.0.0.1:8080`. */
export async function listen (app: FastifyInstance, host: string, port: number): Promise<string> {
  await app.listen({ host, port })
  const addr = app.server.address()
  const actual = typeof addr === 'object' && addr != null ? addr.port : port
  return `http://${host}:${actual}`
}

