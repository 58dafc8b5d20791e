import { createServer, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { listen, registerHealthRoutes } from '@codio/service/health'
import { createMetricsRegistry, Gauge, type Logger, type Registry } from '@codio/telemetry'
import { createTrackerRedis, keepNatsConnection, natsAuthOptions, redisReady, TrackerStore, type NatsKeeper } from '@codio/tracker'
import { connectHandler } from '@codio/admin'
import { Auth, authInterceptor, callCheck, loadTls } from '@codio/auth'
import Fastify, { type FastifyBaseLogger } from 'fastify'
import type { TrackerConfig } from './config.js'
import { createControlPlane, type ControlPlane } from './control/plane.js'
import { consumeGossip, type GossipConsumer } from './gossip-consumer.js'
import { trackerMetrics } from './metrics.js'
import { trackerRoutes } from './routes.js'
import { tracingInterceptor } from '@codio/tracing'

/** How long start() waits for Redis and NATS before going on without them, ms. */
const STARTUP_WAIT_MS = 5000

const redactUrl = (url: string): string => url.replace(/\/\/[^@/]*@/, '//***@')

/** A tracker process's parts, started and stopped in order. */
export interface Tracker {
  readonly store: TrackerStore
  /** The fleet control plane (`ControlService`), served on the RPC listener. */
  readonly control: ControlPlane
  readonly registry: Registry
  /** `http://host:port` of /healthz, /readyz, /metrics (after start). */
  readonly httpUrl: string
  /** `http://host:port` of TrackerService (after start). */
  readonly rpcUrl: string
  /** NATS connected and Redis answering a PING. */
  ready(): Promise<boolean>
  start(): Promise<void>
  stop(): Promise<void>
}

export interface TrackerOverrides {
  /** Clock, Unix ms (tests move it instead of sleeping). */
  now?: () => number
  /** ControlService.Watch heartbeat interval, ms (default 15 s). */
  watchHeartbeatMs?: number
}

/**
 * The tracker: NATS gossip in → Redis state → ConnectRPC `TrackerService` out, plus the fleet
 * control plane (`ControlService`, control/plane.ts) on the same RPC listener, and health and
 * metrics over HTTP. Neither NATS nor Redis has to be up at start: it connects in the background,
 * `/readyz` answers 503 until both answer, and RPCs answer Unavailable while Redis is away.
 * Start: Redis client → NATS (then the gossip subscription) → HTTP → RPC; stop in reverse.
 */
export function createTracker (config: TrackerConfig, log: Logger, overrides: TrackerOverrides = {}): Tracker {
  const registry = createMetricsRegistry({ role: 'tracker' })
  const metrics = trackerMetrics(registry)
  let redisDown = false
  const redis = createTrackerRedis(config.redis.url, {
    lazyConnect: true,
    commandTimeoutMs: config.redis.commandTimeout,
    onError: (err) => {
      if (!redisDown) log.warn({ err: err.message }, 'redis connection lost; retrying')
      redisDown = true
    }
  })
  const store = new TrackerStore({
    redis,
    keyPrefix: config.redis.keyPrefix,
    peerTimeoutMs: config.peerTimeout,
    loadWindowMs: config.selection.loadWindow,
    loadHalf: config.selection.loadHalf,
    maxClockSkewMs: config.gossip.maxClockSkew,
    maxContentsPerPeer: config.gossip.maxContentsPerPeer,
    maxContentsUnproven: config.gossip.maxContentsUnproven,
    maxPeers: config.gossip.maxPeers,
    now: overrides.now
  })
  const control = createControlPlane({ redis, keyPrefix: config.redis.keyPrefix, metrics, log, heartbeatMs: overrides.watchHeartbeatMs, now: overrides.now })
  redis.on('ready', () => {
    if (redisDown) log.info('redis connection back')
    redisDown = false
    // again on every (re)connection: a Redis restarted without persistence has lost the set
    for (const p of config.bannedPeers) store.ban(p).catch((err: Error) => log.warn({ peer: p, err: err.message }, 'ban not applied'))
  })

  const natsServers = [config.nats.servers].flat().map(redactUrl)
  let nats: NatsKeeper | undefined
  let consumer: GossipConsumer | undefined
  const ready = async (): Promise<boolean> => nats?.connected === true && await store.ping().then(() => true, () => false)
  new Gauge({
    name: 'codio_tracker_backend_up',
    help: 'Whether the tracker is connected to its backend (1) or not (0): backend="nats" (gossip in, control stream) or "redis" (state)',
    labelNames: ['backend'] as const,
    registers: [registry],
    collect () {
      this.set({ backend: 'nats' }, nats?.connected === true ? 1 : 0)
      this.set({ backend: 'redis' }, redis.status === 'ready' ? 1 : 0)
    }
  })

  const app = Fastify({ loggerInstance: log.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger })
  registerHealthRoutes(app, { ready, registry })
  let rpc: Server | undefined
  let httpUrl = ''
  let rpcUrl = ''

  return {
    store,
    control,
    registry,
    get httpUrl () { return httpUrl },
    get rpcUrl () { return rpcUrl },
    ready,
    async start () {
      // credentials first (@codio/auth): unreadable token files, or a port beyond loopback that
      // no token could call, fail the start before anything connects
      const auth = await Auth.load({ config: config.auth, log, registry })
      const gate = auth.gate({ name: 'rpc', host: config.rpc.host, port: config.rpc.port, scopes: ['read', 'node', 'admin'] })
      const tls = config.rpc.tls == null ? undefined : await loadTls(config.rpc.tls)
      // unreadable credential files fail the start: a tracker that can never log in is misconfigured
      const natsOptions = await natsAuthOptions({ user: config.nats.user, passwordFile: config.nats.passwordFile, tokenFile: config.nats.tokenFile })
      redis.connect().catch(() => {}) // failures show as 'error' events, and ioredis retries
      nats = keepNatsConnection({
        servers: config.nats.servers,
        name: config.name,
        options: natsOptions,
        onConnect: (nc) => {
          log.info({ servers: natsServers }, 'nats connected')
          const g = config.gossip
          consumer = consumeGossip({ nc, store, subjectPrefix: config.nats.subjectPrefix, queueGroup: config.nats.queueGroup, concurrency: g.concurrency, maxMessageBytes: g.maxMessageBytes, maxInflightBytes: g.maxInflightBytes, maxMessagesPerPeer: g.maxMessagesPerPeer, rateWindowMs: g.rateWindow, maxPeers: g.maxPeers, metrics, log })
        },
        onStatus: (up) => up ? log.info('nats reconnected') : log.warn('nats connection lost; reconnecting'),
        onRetry: (err) => log.warn({ err: err.message }, 'nats not reachable; retrying')
      })
      // give both a moment so that a healthy start is ready at once; a missing one is not fatal
      const [redisUp, natsUp] = await Promise.all([redisReady(redis, STARTUP_WAIT_MS), nats.waitConnected(STARTUP_WAIT_MS)])
      if (!redisUp) log.warn({ url: redactUrl(config.redis.url) }, 'redis not answering yet; RPCs answer Unavailable until it does')
      if (!natsUp) log.warn({ servers: natsServers }, 'nats not reachable yet; retrying in the background')
      httpUrl = await listen(app, config.http.host, config.http.port)
      control.start()
      const handler = connectHandler({
        routes: (router) => { trackerRoutes(store, metrics, log)(router); control.routes(router) },
        interceptors: [tracingInterceptor('server'), authInterceptor(gate)],
        precheck: callCheck(gate),
        maxRequestBytes: config.rpc.maxRequestBytes,
        onError: (err, procedure) => log.debug({ procedure, err: (err as Error).message }, 'rpc failed while answering')
      })
      rpc = tls == null ? createServer(handler) : createHttpsServer(tls, handler)
      await new Promise<void>((resolve, reject) => {
        rpc!.once('error', reject)
        rpc!.listen(config.rpc.port, config.rpc.host, () => resolve())
      })
      rpcUrl = `${tls == null ? 'http' : 'https'}://${config.rpc.host}:${(rpc.address() as AddressInfo).port}`
      log.info({ http: httpUrl, rpc: rpcUrl, redis: redactUrl(config.redis.url), subjects: `${config.nats.subjectPrefix}.>` }, 'tracker started')
    },
    async stop () {
      await control.stop() // Watch streams end cleanly before the server cuts connections
      if (rpc !== undefined) {
        const server = rpc
        server.closeAllConnections()
        await new Promise<void>(resolve => server.close(() => resolve()))
      }
      await app.close()
      await consumer?.stop()
      await nats?.close()
      redis.disconnect()
    }
  }
}
