import { readFile } from 'node:fs/promises'
import { startAdminServer, type AdminServer } from '@codio/admin'
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

/** A running origin, relay or edge. */
export interface PeerService {
  readonly peer: CodioPeer
  readonly httpUrl: string
  readonly adminUrl: string
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
  return {
    peer,
    get httpUrl () { return httpUrl },
    get adminUrl () { return admin?.url ?? '' },
    async start () {
      await peer.start()
      httpUrl = await listen(app, init.http.host, init.http.port)
      admin = await startAdminServer({ host: init.admin.host, port: init.admin.port, backend: peerAdminBackend(peer, init.version) })
      log.info({ http: httpUrl, admin: admin.url, peerId: peer.peerId.toString(), multiaddrs: peer.node.getMultiaddrs().map(String) }, `${init.role} started`)
      init.started?.()
    },
    async stop () {
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
