import type { FastifyInstance, FastifyRequest } from 'fastify'

/** Routes that keep answering while a node drains: probes and metrics. */
const PROBES = new Set(['/healthz', '/readyz', '/metrics'])

const counted = new WeakSet<FastifyRequest>()

/**
 * Takes an HTTP app out of service without losing a request (the `Drain` admin call): once
 * {@link HttpDrain.drain} is called, `/readyz` answers 503 `draining` (a load balancer stops
 * sending), every other new request is refused with 503, `Retry-After: 1` and
 * `Connection: close` (the client retries on another node), and requests already in flight
 * are served to their end — a streamed download included, since a response counts until its
 * last byte is written.
 */
export class HttpDrain {
  private inFlight = 0
  private draining = false
  private readonly idle = new Set<() => void>()

  /** Registers the hooks; call before the app listens. */
  constructor (app: FastifyInstance) {
    app.addHook('onRequest', async (req, reply) => {
      const path = req.url.split('?')[0]
      if (this.draining) {
        if (path === '/readyz') return await reply.code(503).send({ status: 'draining' })
        if (!PROBES.has(path)) {
          return await reply.code(503).header('retry-after', '1').header('connection', 'close')
            .send({ error: 'Draining', message: 'this node is draining: retry on another' })
        }
        return
      }
      if (PROBES.has(path)) return
      counted.add(req)
      this.inFlight++
    })
    const done = async (req: FastifyRequest): Promise<void> => {
      if (!counted.delete(req)) return
      if (--this.inFlight === 0) for (const wake of this.idle) wake()
    }
    app.addHook('onResponse', done)
    app.addHook('onRequestAbort', done)
  }

  /** Requests being served now (probes not counted). */
  get active (): number { return this.inFlight }

  get isDraining (): boolean { return this.draining }

  /**
   * Refuse new requests from now on and resolve once none is in flight, or after `timeoutMs`.
   *
   * @returns the requests still in flight when it resolved (0 unless the timeout hit)
   */
  async drain (timeoutMs: number): Promise<number> {
    this.draining = true
    if (this.inFlight === 0) return 0
    await new Promise<void>(resolve => {
      const wake = (): void => { clearTimeout(timer); this.idle.delete(wake); resolve() }
      const timer = setTimeout(wake, timeoutMs)
      this.idle.add(wake)
    })
    return this.inFlight
  }
}
