import { formatFecSpec, parseFecSpec } from '@codio/fec'
import { CodioPeer, peerSettings } from '@codio/peer'
import { peerService, registerHealthRoutes, type PeerService } from '@codio/service'
import { loadOrCreateKeyPair, loadPublicKey, TrustedKeys } from '@codio/signing'
import { createMetricsRegistry, Counter, Histogram, type Logger } from '@codio/telemetry'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { Auth, loadTls, requireScope } from '@codio/auth'
import type { OriginConfig } from './config.js'
import { ingest } from './ingest.js'

/** A running origin. */
export type Origin = PeerService

/**
 * The origin: `PUT /content` ingest into a durable store, served and provided over libp2p.
 * Ingest needs a `publish` token and the admin API read/admin tokens (`[auth]`), required
 * beyond loopback; `http.tls` / `admin.tls` serve them over HTTPS.
 *
 * @throws TokenFileError, AuthRequiredError, TlsConfigError (before anything starts)
 */
export async function createOrigin (config: OriginConfig, log: Logger, version: string): Promise<Origin> {
  const registry = createMetricsRegistry({ role: 'origin' })
  // credentials (@codio/auth): the admin listener's and the ingest route's, one set of tokens,
  // checked before anything opens
  const auth = await Auth.load({ config: config.auth, log, registry })
  const ingestGate = auth.gate({ name: 'ingest', host: config.http.host, port: config.http.port, scopes: ['publish'] })
  const https = config.http.tls == null ? undefined : await loadTls(config.http.tls)
  const { keyPair: publisher, created } = await loadOrCreateKeyPair(config.publisher.keyFile)
  if (created) log.info({ keyFile: config.publisher.keyFile }, 'created publisher key')
  const trusted = new TrustedKeys([publisher.publicKey, ...await Promise.all(config.trust.publisherKeys.map(loadPublicKey))])
  const peer = await CodioPeer.create({ role: 'origin', ...peerSettings(config), trustedKeys: trusted, log, registry })
  const ingested = new Counter({ name: 'codio_origin_ingested_bytes_total', help: 'Bytes accepted by PUT /content', registers: [registry] })
  const ingestSeconds = new Histogram({ name: 'codio_origin_ingest_duration_seconds', help: 'Time to ingest one upload', registers: [registry], buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 300] })
  const rejected = new Counter({ name: 'codio_origin_ingest_rejected_total', help: 'Uploads refused or aborted', labelNames: ['reason'], registers: [registry] })

  const loggerInstance = log.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger
  const app = (https == null ? Fastify({ loggerInstance }) : Fastify({ loggerInstance, https })) as unknown as FastifyInstance
  // the body is streamed into the store by the handler, never buffered by a parser
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => done(null))
  registerHealthRoutes(app, {
    ready: () => peer.isReady(),
    registry
  })

  app.put('/content', { onRequest: requireScope(ingestGate, 'publish', 'PUT /content') }, async (request, reply) => {
    const query = request.query as Record<string, string | undefined>
    const chunkSize = query.chunkSize == null ? config.ingest.chunkSize : Number(query.chunkSize)
    const lengthHeader = request.headers['content-length']
    const t0 = performance.now()
    try {
      const fec = parseFecSpec(query.fec ?? config.ingest.fec)
      const result = await ingest({ store: peer.store, publisher, maxUploadBytes: config.ingest.maxUploadBytes }, {
        body: request.raw,
        mediaType: (request.headers['content-type'] ?? 'application/octet-stream').split(';')[0].trim() || 'application/octet-stream',
        chunkSize,
        expectedSize: lengthHeader == null ? undefined : Number(lengthHeader),
        fec
      })
      await peer.markComplete(result.contentId)
      ingested.inc(result.size)
      ingestSeconds.observe((performance.now() - t0) / 1000)
      log.info({ contentId: result.contentId.toString(), size: result.size, chunks: result.chunks, parityChunks: result.parityChunks }, 'published')
      return reply.code(201).send({ cid: result.contentId.toString(), size: result.size, chunks: result.chunks, parityChunks: result.parityChunks, fec: formatFecSpec(fec) })
    } catch (err: any) {
      const status = err.name === 'UploadTooLargeError' ? 413 : err.name === 'BadRequestError' || err.name === 'InvalidChunkSizeError' || err.name === 'InvalidFecParamsError' ? 400 : err.name === 'UploadIncompleteError' ? 400 : 500
      rejected.inc({ reason: err.name })
      log.warn({ err: err.message }, 'upload refused')
      if (status === 413) reply.header('connection', 'close')
      return reply.code(status).send({ error: err.name, message: err.message })
    }
  })

  return peerService({ role: 'origin', peer, app, http: config.http, admin: config.admin, log, version, auth })
}

