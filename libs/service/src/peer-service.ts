import { readFile } from 'node:fs/promises'
import { startAdminServer, type AdminServer } from '@codio/admin'
import { Auth, TlsConfigError, type AuthConfig, type TlsConfig } from '@codio/auth'
import { HttpDrain } from './drain.js'
import { watchFleet } from './fleet.js'
import { nodeConfigBackend, type NodeConfigBackend, type NodeConfigSource } from './config-backend.js'
import { peerAdminBackend, type CodioPeer } from '@codio/peer'
import type { Logger } from '@codio/telemetry'
import type { FastifyInstance } from 'fastify'
import { listen } from './index.js'

export interface Listener {
  host: string
  port: number
  /** HTTPS from these PEM files (the admin listener; an HTTP app created with Fastify's `https`). */
  tls?: TlsConfig
  /** The admin listener's largest ConnectRPC request body, bytes (default 4 MiB). */
  maxRequestBytes?: number
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
  /**
   * Credentials of the admin listener: the `[auth]` table (its token files are read at start),
   * or an `Auth` the service loaded already (the origin shares it with its ingest route).
   * Default: no tokens (loopback open; beyond loopback the start fails, AuthRequiredError).
   */
  auth?: AuthConfig | Auth
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
  /**
   * Serve GetConfig, UpdateConfig, TrustKey, RevokeKey and ListKeys over `config` (a
   * `LayeredConfig` of the service's schema) and apply its changes to the running peer (see
   * `nodeConfigBackend`). Call before {@link start}; without it those calls answer Unimplemented.
   */
  useConfig(config: NodeConfigSource): void
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
  let layered: NodeConfigSource | undefined
  let configBackend: NodeConfigBackend | undefined
  let fleet: ReturnType<typeof watchFleet>
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
    useConfig (config) { layered = config },
    async start () {
      // credentials first: a process that would refuse to serve its admin API starts nothing
      const auth = init.auth instanceof Auth ? init.auth : await Auth.load({ config: init.auth, log, registry: peer.init.registry })
      auth.gate({ name: 'admin', host: init.admin.host, port: init.admin.port, scopes: ['read', 'admin'] })
      if (init.http.tls != null && app.initialConfig.https == null) throw new TlsConfigError(`http.tls: the ${init.role}'s HTTP port does not serve TLS (the admin port and the origin's ingest port do)`)
      if (layered != null) configBackend = await nodeConfigBackend({ config: layered, peer, log })
      await peer.start()
      configBackend?.started()
      httpUrl = await listen(app, init.http.host, init.http.port)
      if (init.http.tls != null) httpUrl = httpUrl.replace(/^http:/, 'https:')
      admin = await startAdminServer({ host: init.admin.host, port: init.admin.port, backend: { ...peerAdminBackend(peer, init.version), ...configBackend?.calls, drain }, auth, tls: init.admin.tls, maxRequestBytes: init.admin.maxRequestBytes, log })
      fleet = watchFleet(peer, layered, log)
      log.info({ http: httpUrl, admin: admin.url, peerId: peer.peerId.toString(), multiaddrs: peer.node.getMultiaddrs().map(String) }, `${init.role} started`)
      init.started?.()
    },
    async stop () {
      // SIGTERM drains like the Drain call: readiness false, new requests refused, those in
      // flight served (bounded so the whole stop fits Kubernetes' 30 s grace period).
      const left = await http.drain(STOP_DRAIN_TIMEOUT_MS)
      if (left > 0) log.warn({ left }, 'stopping with requests still in flight')
      await fleet?.stop()
      await admin?.close()
      await app.close()
      configBackend?.close()
      await peer.stop()
    }
  }
}

/** The `version` of the package.json at `url` (e.g. `new URL('../package.json', import.meta.url)`). */
export async function readPackageVersion (url: URL): Promise<string> {
  return (JSON.parse(await readFile(url, 'utf8')) as { version: string }).version
}
