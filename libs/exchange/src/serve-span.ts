import { CID } from 'multiformats/cid'
import { extractTrace, recordError, SpanKind, tracer } from '@codio/tracing'
import type { PeerId } from '@libp2p/interface'
import { CHUNK_PROTOCOL } from './constants.js'

const serveTracer = tracer('@codio/exchange')

/** What the serving loop tells the span of one traced request. */
export interface ServeSpan {
  served(bytes: number): void
  /** The refusal sent instead of the block (`NOT_FOUND`, `CHOKED`, ...). */
  refused(code: string): void
  failed(err: unknown): void
  end(): void
}

/**
 * The SERVER span of serving one request, a child of the requester's span when the request
 * carries a W3C `traceparent`; `undefined` for an untraced request (or a malformed
 * traceparent, ignored). Untraced requests open no span: swarm traffic between caches that no
 * traced request caused would otherwise start a root span per 1 MiB chunk.
 */
export function serveSpan (req: { cid: Uint8Array, traceparent: string, tracestate: string }, peer: PeerId): ServeSpan | undefined {
  const parent = extractTrace(req)
  if (parent == null) return undefined
  let cid = ''
  try { cid = CID.decode(req.cid).toString() } catch {}
  const span = serveTracer.startSpan('chunk serve', {
    kind: SpanKind.SERVER,
    attributes: { 'network.protocol.name': CHUNK_PROTOCOL, 'codio.peer.id': peer.toString(), 'codio.block.cid': cid }
  }, parent)
  return {
    served: bytes => { span.setAttribute('codio.block.bytes', bytes) },
    refused: code => { span.setAttribute('codio.exchange.refusal', code) },
    failed: err => { recordError(span, err) },
    end: () => { span.end() }
  }
}
