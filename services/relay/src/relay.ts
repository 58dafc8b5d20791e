import { readFile } from 'node:fs/promises'
import { startAdminServer, type AdminServer } from '@codio/admin'
import { parseContentId } from '@codio/content'
import { CodioPeer, peerAdminBackend } from '@codio/peer'
import { listen, registerHealthRoutes } from '@codio/service'
import { loadPublicKey, TrustedKeys } from '@codio/signing'
import { createMetricsRegistry, type Logger } from '@codio/telemetry'
import Fastify, { type FastifyBaseLogger } from 'fastify'
import type { RelayConfig } from './config.js'

export interface Relay {
  readonly peer: CodioPeer
  readonly httpUrl: string
  readonly adminUrl: string
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * The relay: a DHT server and bootstrap peer that caches content it is told to prefetch and
 * serves and provides it like any other holder.
 */
export async function createRelay (config: RelayConfig, log: Logger, version: string): Promise<Relay> {
  const registry = createMetricsRegistry({ role: 'relay' })
  const prefetch = config.prefetch.map(parseContentId)
  const trusted = new TrustedKeys(await Promise.all(config.trust.publisherKeys.map(loadPublicKey)))
  const peer = await CodioPeer.create({
    role: 'relay',
    dataDir: config.dataDir,
    ...config.p2p,
    trustedKeys: trusted,
    lookupTimeoutMs: config.fetch.lookupTimeout,
    requestTimeoutMs: config.fetch.requestTimeout,
    perPeerInFlight: config.fetch.perPeerInFlight,
    maxInFlight: config.fetch.maxInFlight,
    log,
    registry
  })
  const app = Fastify({ loggerInstance: log.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger })
  registerHealthRoutes(app, { ready: () => peer.isReady(), registry })

  let admin: AdminServer | undefined
  let httpUrl = ''
  return {
    peer,
    get httpUrl () { return httpUrl },
    get adminUrl () { return admin?.url ?? '' },
    async start () {
      await peer.start()
      httpUrl = await listen(app, config.http.host, config.http.port)
      admin = await startAdminServer({ host: config.admin.host, port: config.admin.port, backend: peerAdminBackend(peer, version) })
      log.info({ http: httpUrl, admin: admin.url, peerId: peer.peerId.toString(), multiaddrs: peer.node.getMultiaddrs().map(String) }, 'relay started')
      for (const cid of prefetch) {
        peer.prefetch(cid).then(
          r => log.info({ contentId: cid.toString(), chunks: r.chunksFetched, seconds: r.seconds }, 'prefetched'),
          (err: Error) => log.warn({ contentId: cid.toString(), err: err.message }, 'prefetch failed')
        )
      }
    },
    async stop () {
      await admin?.close()
      await app.close()
      await peer.stop()
    }
  }
}

export async function readVersion (): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'))
  return pkg.version
}
