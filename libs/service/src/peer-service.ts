import { readFile } from 'node:fs/promises'
import { startAdminServer, type AdminServer } from '@codio/admin'
import { HttpDrain } from './drain.js'
import { peerAdminBackend, type CodioPeer } from '@codio/peer'
import type { Logger } from '@codio/telemetry'
import type { FastifyInstance } from 'fastify'
import { listen } from './index.js'

export interface Listener {
  host: string
  port: number
}

export interface PeerServiceInit {
  role: string
  peer: CodioPeer
  /** The service's HTTP app, routes registered; listened on `http`. */
  app: FastifyInstance
  http: Listener
  admin: Listener
  log: Logger
  version: string
  /** Runs once everything is listening (e.g. kick off background prefetches). */
  started?(): void
}

/** Longest a stop waits for HTTP requests in flight (ms). */
export const STOP_DRAIN_TIMEOUT_MS = 20_000

/** A running origin, relay or edge. */
export interface PeerService {
  readonly peer: CodioPeer
  readonly httpUrl: string
  readonly adminUrl: string
  /**
   * Resolves once a `Drain` admin call has served the requests in flight: the process should
   * then stop and exit 0 (`onShutdown(stop, { trigger: service.drained })` does).
   */
  readonly drained: Promise<void>
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * The lifecycle every Codio peer service shares: start the peer, then its HTTP app, then the
 * admin API; stop in the reverse order.
 */
export function peerService (init: PeerServiceInit): PeerService {
  const { peer, app, log } = init
  let admin: AdminServer | undefined
  let httpUrl = ''
  const http = new HttpDrain(app)
  let markDrained = (): void => {}
  const drained = new Promise<void>(resolve => { markDrained = resolve })
  const drain = async (timeoutMs: number): Promise<{ inFlight: number }> => {
    const inFlight = http.active
    if (!http.isDraining) {
      log.info({ inFlight, timeoutMs }, 'draining: refusing new requests, serving those in flight')
      void http.drain(timeoutMs).then(left => {
        if (left > 0) log.warn({ left }, 'drain timed out with requests in flight')
        else log.info('drained')
        markDrained()
      })
    }
    return { inFlight }
  }
  return {
    peer,
    get httpUrl () { return httpUrl },
    get adminUrl () { return admin?.url ?? '' },
    drained,
    async start () {
      await peer.start()
      httpUrl = await listen(app, init.http.host, init.http.port)
      admin = await startAdminServer({ host: init.admin.host, port: init.admin.port, backend: { ...peerAdminBackend(peer, init.version), drain } })
      log.info({ http: httpUrl, admin: admin.url, peerId: peer.peerId.toString(), multiaddrs: peer.node.getMultiaddrs().map(String) }, `${init.role} started`)
      init.started?.()
    },
    async stop () {
      // SIGTERM drains like the Drain call: readiness false, new requests refused, those in
      // flight served (bounded so the whole stop fits Kubernetes' 30 s grace period).
      const left = await http.drain(STOP_DRAIN_TIMEOUT_MS)
      if (left > 0) log.warn({ left }, 'stopping with requests still in flight')
      await admin?.close()
      await app.close()
      await peer.stop()
    }
  }
}

/** The `version` of the package.json at `url` (e.g. `new URL('../package.json', import.meta.url)`). */
export async function readPackageVersion (url: URL): Promise<string> {
  return (JSON.parse(await readFile(url, 'utf8')) as { version: string }).version
}
