import type { Logger } from '@codio/telemetry'
import { ControlStore } from '@codio/tracker'
import type { ConnectRouter } from '@connectrpc/connect'
import type { Redis } from 'ioredis'
import type { TrackerMetrics } from '../metrics.js'
import { EventHub } from './hub.js'
import { controlRoutes } from './routes.js'

/** How long stop() lets the Watch streams write their end before the server closes them, ms. */
const DRAIN_MS = 1000

export interface ControlPlaneInit {
  /** The tracker's Redis client (the hub duplicates it for its blocking reads). */
  redis: Redis
  keyPrefix: string
  metrics: TrackerMetrics
  log: Logger
  /** Watch heartbeat interval, ms. Default 15 s. */
  heartbeatMs?: number
  /** Clock, Unix ms. */
  now?: () => number
}

/** The tracker's `ControlService`: its Redis state, its event tail and its routes. */
export interface ControlPlane {
  readonly store: ControlStore
  /** Watch streams open on this replica. */
  readonly watchers: number
  /** Register ControlService on a ConnectRPC router (the tracker's RPC server). */
  routes(router: ConnectRouter): void
  /** Start tailing the event stream (Redis need not be up yet). */
  start(): void
  /** End every Watch stream cleanly and stop tailing; call before closing the RPC server. */
  stop(): Promise<void>
}

/**
 * The fleet control plane of one tracker replica: ControlService over a ControlStore (state in
 * Redis, shared by every replica) and an EventHub (this replica's tail of the control event
 * stream, feeding the Watch streams it serves). See hub.ts for why events go through a Redis
 * stream rather than NATS.
 */
export function createControlPlane (init: ControlPlaneInit): ControlPlane {
  const store = new ControlStore({ redis: init.redis, keyPrefix: init.keyPrefix, now: init.now })
  const hub = new EventHub({ store, redis: init.redis, log: init.log.child({ component: 'control' }) })
  const routes = controlRoutes({ store, hub, metrics: init.metrics, log: init.log.child({ component: 'control' }), heartbeatMs: init.heartbeatMs })
  return {
    store,
    get watchers () { return hub.size },
    routes,
    start: () => hub.start(),
    async stop () {
      await hub.stop()
      // the streams' generators return once the hub closed them; give them a moment to write their end
      const end = Date.now() + DRAIN_MS
      while (hub.size > 0 && Date.now() < end) await new Promise(resolve => setTimeout(resolve, 10))
    }
  }
}
