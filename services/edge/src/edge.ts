import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { parseContentId } from '@codio/content'
import { CodioPeer, peerSettings, type ResolvedContent } from '@codio/peer'
import { peerService, registerHealthRoutes, tracedRoute, type PeerService, type RequestTrace } from '@codio/service'
import { loadPublicKey, TrustedKeys } from '@codio/signing'
import { Counter, createMetricsRegistry, Histogram, type Logger } from '@codio/telemetry'
import Fastify, { type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify'
import type { CID } from 'multiformats/cid'
import type { EdgeConfig } from './config.js'
import { interpretRange, type ByteRange } from './ranges.js'

/** A running edge. */
export type Edge = PeerService

const IMMUTABLE = 'public, max-age=31536000, immutable'

/** The headers a content answer carries that an error answer must not. */
const CONTENT_HEADERS = ['etag', 'cache-control', 'accept-ranges', 'content-type', 'last-modified', 'content-range', 'content-length']

/** The failures a content request can meet, by the error's name (`other` for anything else). */
const FAILURES = ['InvalidCidError', 'ContentNotFoundError', 'UntrustedPublisherError', 'InvalidSignatureError', 'ManifestDecodeError', 'ManifestUnavailableError', 'ChunkUnavailableError', 'other']

/** HTTP status and error code for each failure a content request can meet. */
function failureStatus (name: string): number {
  switch (name) {
    case 'InvalidCidError': return 400
    case 'ContentNotFoundError': return 404
    case 'UntrustedPublisherError':
    case 'InvalidSignatureError':
    case 'ManifestDecodeError':
    case 'ManifestUnavailableError':
    case 'ChunkUnavailableError':
      return 502
    default: return 500
  }
}

/** Does an `If-None-Match` header match this strong ETag (RFC 9110 §13.1.2, weak comparison)? */
function etagMatches (header: string | undefined, etag: string): boolean {
  if (header == null) return false
  if (header.trim() === '*') return true
  return header.split(',').some(t => t.trim().replace(/^W\//, '') === etag)
}

/** The edge: HTTP delivery of swarm-fetched, verified content, cached and re-provided. */
export async function createEdge (config: EdgeConfig, log: Logger, version: string): Promise<Edge> {
  const registry = createMetricsRegistry({ role: 'edge' })
  const trusted = new TrustedKeys(await Promise.all(config.trust.publisherKeys.map(loadPublicKey)))
  if (trusted.size === 0) log.warn('no trusted publisher keys configured: every manifest will be refused')
  const peer = await CodioPeer.create({ role: 'edge', version, ...peerSettings(config), trustedKeys: trusted, log, registry })
  // requests, durations and sizes of every route: codio_http_* (registerHealthRoutes)
  const registers = [registry]
  const served = new Counter({ name: 'codio_content_sent_bytes_total', help: 'Content bytes sent to HTTP clients, by source: cache (held when the request came) or swarm (fetched for it)', labelNames: ['source'], registers })
  const broken = new Counter({ name: 'codio_http_responses_broken_total', help: 'Content responses cut off after their headers were sent (the client sees a short body, never a wrong byte), by the error that cut them', labelNames: ['reason'], registers })
  const failures = new Counter({ name: 'codio_content_request_failures_total', help: 'Content requests answered with an error, by the error (ContentNotFoundError: no provider has the content; ChunkUnavailableError, ManifestUnavailableError: providers could not deliver; UntrustedPublisherError, InvalidSignatureError, ManifestDecodeError: a manifest refused; InvalidCidError: a bad request)', labelNames: ['reason'], registers })
  const cache = new Counter({ name: 'codio_cache_requests_total', help: 'Content requests answered from the local store (hit) or the swarm (miss)', labelNames: ['result'], registers })
  for (const result of ['hit', 'miss']) cache.inc({ result }, 0)
  for (const source of ['cache', 'swarm']) served.inc({ source }, 0)
  // the known reasons start at 0, so that rates and alerts see a series before the first failure
  for (const reason of FAILURES) failures.inc({ reason }, 0)
  for (const reason of ['ChunkUnavailableError', 'StoreIOError', 'BlockMissingError']) broken.inc({ reason }, 0)
  const ttfb = new Histogram({ name: 'codio_http_time_to_first_byte_seconds', help: 'From a content request\'s arrival to its first body byte, by cache result', labelNames: ['cache'], registers, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] })

  const app = Fastify({ loggerInstance: log.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger })
  registerHealthRoutes(app, {
    ready: () => peer.isReady(),
    registry
  })

  function fail (reply: FastifyReply, err: Error): FastifyReply {
    const status = failureStatus(err.name)
    failures.inc({ reason: FAILURES.includes(err.name) ? err.name : 'other' })
    if (status >= 500) log.warn({ err: err.message }, 'content request failed')
    // an error is no content: none of the content's headers, and no cache may keep it (a
    // shared cache would otherwise serve it for a year under the content's ETag)
    for (const h of CONTENT_HEADERS) reply.removeHeader(h)
    return reply.code(status).header('cache-control', 'no-store').send({ error: err.name, message: err.message })
  }

  /**
   * Stream `ranges` of the content to the reply; one range plain, several as multipart.
   * Resolves once the first bytes are at hand, and rejects when they cannot be had: the
   * headers are not sent yet then, so the failure gets its own status (see `fail`).
   */
  async function body (resolved: ResolvedContent, ranges: ByteRange[], trailer: string | undefined, t0: number, hit: boolean, rt: RequestTrace): Promise<Readable> {
    // verified chunks from the store, or from a download started here (peer.read)
    const readers = peer.read(resolved, ranges)
    let first = true
    const source = { source: hit ? 'cache' : 'swarm' }
    const count = (b: Uint8Array): Uint8Array => {
      if (first) {
        first = false
        ttfb.observe({ cache: hit ? 'hit' : 'miss' }, (performance.now() - t0) / 1000)
      }
      served.inc(source, b.byteLength)
      rt.bytes += b.byteLength
      return b
    }
    const parts = (async function * () {
      try {
        for (const [k, part] of ranges.entries()) {
          if (part.header != null) yield count(Buffer.from(part.header))
          for await (const b of readers[k]) yield count(b)
        }
        if (trailer != null) yield count(Buffer.from(trailer))
      } catch (err: any) {
        // before the first bytes the caller answers with the error instead
        if (!first) {
          broken.inc({ reason: err.name ?? 'Error' })
          log.warn({ contentId: resolved.contentId.toString(), err: err.message, error: err.name }, 'content response cut off')
        }
        throw err
      }
    })()
    const head = await parts.next()
    return Readable.from((async function * () {
      if (head.done !== true) yield head.value
      yield * parts
    })(), { objectMode: false })
  }

  async function serveContent (request: FastifyRequest<{ Params: { cid: string } }>, reply: FastifyReply, rt: RequestTrace): Promise<FastifyReply> {
    const t0 = performance.now()
    const method = request.method
    let contentId: CID
    try {
      contentId = parseContentId(request.params.cid)
    } catch (err: any) {
      return fail(reply, err)
    }
    const etag = `"${contentId.toString()}"`
    reply.header('etag', etag).header('cache-control', IMMUTABLE).header('accept-ranges', 'bytes')
    if (etagMatches(request.headers['if-none-match'], etag)) {
      return reply.code(304).send()
    }
    const ac = new AbortController()
    request.raw.once('close', () => { if (!reply.sent) ac.abort() })
    let resolved: ResolvedContent
    try {
      resolved = await peer.resolve(contentId, ac.signal)
    } catch (err: any) {
      return fail(reply, err)
    }
    const { manifest } = resolved
    cache.inc({ result: resolved.local ? 'hit' : 'miss' })
    rt.cache = resolved.local ? 'hit' : 'miss'
    reply.header('content-type', manifest.mediaType)
    reply.header('last-modified', new Date(manifest.createdAt).toUTCString())

    const ifRange = request.headers['if-range']
    const rangeHeader = ifRange == null || ifRange === etag ? request.headers.range : undefined
    const wanted = interpretRange(rangeHeader, manifest.size)
    if (wanted.kind === 'unsatisfiable') {
      return reply.code(416).type('application/json').header('content-range', `bytes */${manifest.size}`).send({ error: 'RangeNotSatisfiable', message: `no requested range overlaps the ${manifest.size} bytes of ${contentId}` })
    }
    let status = 200
    let ranges: ByteRange[] = [{ start: 0, end: manifest.size - 1 }]
    let trailer: string | undefined
    let length = manifest.size
    if (wanted.kind === 'ranges') {
      status = 206
      ranges = wanted.ranges
      if (ranges.length === 1) {
        const r = ranges[0]
        reply.header('content-range', `bytes ${r.start}-${r.end}/${manifest.size}`)
        length = r.end - r.start + 1
      } else {
        const boundary = randomBytes(12).toString('hex')
        ranges = ranges.map(r => ({
          ...r,
          header: `\r\n--${boundary}\r\ncontent-type: ${manifest.mediaType}\r\ncontent-range: bytes ${r.start}-${r.end}/${manifest.size}\r\n\r\n`
        }))
        trailer = `\r\n--${boundary}--\r\n`
        length = ranges.reduce((n, r) => n + Buffer.byteLength(r.header!) + r.end - r.start + 1, 0) + Buffer.byteLength(trailer)
        reply.header('content-type', `multipart/byteranges; boundary=${boundary}`)
      }
    }
    if (method === 'HEAD' || manifest.size === 0) {
      return reply.code(status).header('content-length', length).send()
    }
    let stream: Readable
    try {
      stream = await body(resolved, ranges, trailer, t0, resolved.local, rt)
    } catch (err: any) {
      return fail(reply, err)
    }
    return reply.code(status).header('content-length', length).send(stream)
  }

  app.route({ method: ['GET', 'HEAD'], url: '/content/:cid', handler: tracedRoute({ route: '/content/:cid', log, accessLog: config.http.accessLog }, serveContent) })

  return peerService({ role: 'edge', peer, app, http: config.http, admin: config.admin, log, version, auth: config.auth })
}


