import { MAX_MEDIA_TYPE_LENGTH } from '@codio/content'
import { formatFecSpec, parseFecSpec } from '@codio/fec'
import { CodioPeer, peerSettings } from '@codio/peer'
import { peerService, registerHealthRoutes, tracedRoute, type PeerService } from '@codio/service'
import { loadOrCreateKeyPair, loadPublicKey, TrustedKeys } from '@codio/signing'
import { createMetricsRegistry, Counter, Histogram, type Logger } from '@codio/telemetry'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { Auth, loadTls, requireScope } from '@codio/auth'
import type { OriginConfig } from './config.js'
import { BadRequestError } from './errors.js'
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
  const peer = await CodioPeer.create({ role: 'origin', version, ...peerSettings(config), trustedKeys: trusted, log, registry })
  const ingested = new Counter({ name: 'codio_ingest_bytes_total', help: 'Content bytes accepted by PUT /content', registers: [registry] })
  const ingestSeconds = new Histogram({ name: 'codio_ingest_duration_seconds', help: 'Time to ingest one upload: receive, chunk, hash, FEC-code, sign and store', registers: [registry], buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 300] })
  const rejected = new Counter({ name: 'codio_ingest_rejected_total', help: 'Uploads refused or aborted, by the error\'s name', labelNames: ['reason'], registers: [registry] })

  const loggerInstance = log.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger
  const app = (https == null ? Fastify({ loggerInstance }) : Fastify({ loggerInstance, https })) as unknown as FastifyInstance
  // the body is streamed into the store by the handler, never buffered by a parser
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => done(null))
  // a client that half-closes (shuts down its sending side) after a complete body still gets
  // its reply: Node's default aborts the request on the client's FIN
  ;(app.server as { httpAllowHalfOpen?: boolean }).httpAllowHalfOpen = true
  registerHealthRoutes(app, {
    ready: () => peer.isReady(),
    registry
  })

  // an HTTP SERVER span (its child: origin.ingest), a child of the publisher's traceparent
  app.put('/content', { onRequest: requireScope(ingestGate, 'publish', 'PUT /content') }, tracedRoute({ route: '/content', log }, async (request, reply) => {
    const query = request.query as Record<string, string | string[] | undefined>
    const lengthHeader = request.headers['content-length']
    const t0 = performance.now()
    // the client gone (connection reset or closed before the reply): stop chunking and coding
    const gone = new AbortController()
    const onClose = (): void => { if (!reply.raw.writableFinished) gone.abort() }
    reply.raw.once('close', onClose)
    try {
      // everything the headers and query decide is checked before the body is read
      for (const [key, value] of Object.entries(query)) {
        if (Array.isArray(value)) throw new BadRequestError(`query parameter ${key} given ${value.length} times; give it once`)
      }
      const chunkSize = query.chunkSize == null ? config.ingest.chunkSize : Number(query.chunkSize)
      const mediaType = (request.headers['content-type'] ?? 'application/octet-stream').split(';')[0].trim() || 'application/octet-stream'
      if (mediaType.length > MAX_MEDIA_TYPE_LENGTH) throw new BadRequestError(`Content-Type media type of ${mediaType.length} characters exceeds the limit of ${MAX_MEDIA_TYPE_LENGTH}`)
      const fec = parseFecSpec((query.fec as string | undefined) ?? config.ingest.fec)
      const result = await ingest({ store: peer.store, publisher, maxUploadBytes: config.ingest.maxUploadBytes }, {
        body: request.raw,
        mediaType,
        chunkSize,
        expectedSize: lengthHeader == null ? undefined : Number(lengthHeader),
        fec,
        signal: gone.signal
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
      // refused before its body was read whole: do not read the rest of it
      if (status === 413 || !request.raw.complete) reply.header('connection', 'close')
      return reply.code(status).send({ error: err.name, message: err.message })
    } finally {
      reply.raw.off('close', onClose)
    }
  }))

  return peerService({ role: 'origin', peer, app, http: config.http, admin: config.admin, log, version, auth })
}

