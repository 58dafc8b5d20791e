import { parseContentId } from '@codio/content'
import { CodioPeer, peerSettings } from '@codio/peer'
import { peerService, registerHealthRoutes, type PeerService } from '@codio/service'
import { loadPublicKey, TrustedKeys } from '@codio/signing'
import { createMetricsRegistry, type Logger } from '@codio/telemetry'
import Fastify, { type FastifyBaseLogger } from 'fastify'
import type { RelayConfig } from './config.js'

/** A running relay. */
export type Relay = PeerService

/**
 * The relay: a DHT server and bootstrap peer that caches content it is told to prefetch and
 * serves and provides it like any other holder.
 */
export async function createRelay (config: RelayConfig, log: Logger, version: string): Promise<Relay> {
  const registry = createMetricsRegistry({ role: 'relay' })
  const prefetch = config.prefetch.map(parseContentId)
  const trusted = new TrustedKeys(await Promise.all(config.trust.publisherKeys.map(loadPublicKey)))
  const peer = await CodioPeer.create({ role: 'relay', version, ...peerSettings(config), trustedKeys: trusted, log, registry })
  const app = Fastify({ loggerInstance: log.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger })
  // relays are the bootstrap peers: one whose fellow relays are not up yet (or whose shared list
  // names only itself) must still take peers, or nobody could ever join
  registerHealthRoutes(app, { ready: () => peer.node.status === 'started', registry })

  return peerService({
    role: 'relay',
    peer,
    app,
    http: config.http,
    admin: config.admin,
    auth: config.auth,
    log,
    version,
    started: () => {
      for (const cid of prefetch) {
        peer.prefetch(cid).then(
          r => log.info({ contentId: cid.toString(), chunks: r.chunksFetched, seconds: r.seconds }, 'prefetched'),
          (err: Error) => log.warn({ contentId: cid.toString(), err: err.message }, 'prefetch failed')
        )
      }
    }
  })
}

