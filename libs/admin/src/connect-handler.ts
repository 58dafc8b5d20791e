import type { IncomingMessage, ServerResponse } from 'node:http'
import { fromBinary, type DescMessage } from '@bufbuild/protobuf'
import { Code, ConnectError, createConnectRouter, type ConnectRouter, type Interceptor } from '@connectrpc/connect'
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from '@connectrpc/connect-node'

/** Largest request body a ConnectRPC listener reads unless configured otherwise (bytes): 4 MiB. */
export const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024
/** Largest response message a ConnectRPC listener writes (bytes): 64 MiB; a bigger one fails the call (ResourceExhausted). */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
/** Connect's own ceiling for either limit (bytes). */
const MAX_LIMIT = 0xffffffff

export interface ConnectHandlerInit {
  routes: (router: ConnectRouter) => void
  interceptors?: Interceptor[]
  /**
   * Largest request body, in bytes (integer from 1 to 2^32−1; default 4 MiB). A body declared
   * bigger (Content-Length) is refused before any of it is read; a chunked one once it passes
   * the limit; both answer `resource_exhausted`, nothing of them is kept, and the connection is
   * closed after the answer. Also caps each message after decompression.
   */
  maxRequestBytes?: number
  /** Largest response message, in bytes (default 64 MiB). */
  maxResponseBytes?: number
  /**
   * Runs on a call's request headers before any of its body is read (e.g. the credential check,
   * `callCheck` of @codio/auth); a ConnectError it throws is the call's answer, and the body is
   * dropped unread (the connection closed after the answer), as for a body over the limit.
   */
  precheck?: (header: Headers, typeName: string, method: string) => void
  /** A call that failed after its answer began (e.g. the client left while it was written). */
  onError?: (err: unknown, procedure: string) => void
}

const tooLarge = (limit: number, declared?: number): ConnectError => new ConnectError(
  `request body${declared === undefined ? '' : ` of ${declared} bytes`} is larger than the limit of ${limit} bytes`, Code.ResourceExhausted)

const COMPRESSION = new Map([compressionGzip, compressionBrotli].map(c => [c.name, c]))

/** `bytes` decompressed with `encoding`, or undefined where Connect itself will answer (unknown encoding, corrupt data). */
async function decompressed (encoding: string | null, bytes: Uint8Array, limit: number): Promise<Uint8Array | undefined> {
  if (encoding == null || encoding === '' || encoding === 'identity') return bytes
  const c = COMPRESSION.get(encoding)
  return await c?.decompress(bytes, limit).catch(() => undefined)
}

function decodes (schema: DescMessage, bytes: Uint8Array): void {
  try {
    fromBinary(schema, bytes)
  } catch (err) {
    throw new ConnectError(`cannot decode message ${schema.typeName} from binary: ${(err as Error).message}`, Code.InvalidArgument)
  }
}

const ENVELOPED = /^application\/(connect\+proto|grpc-web(\+proto)?|grpc(\+proto)?)$/

/**
 * Throws InvalidArgument when a binary request's message is not the method's input type.
 * Connect reports a protobuf decode failure as `internal` (HTTP 500); a malformed request is
 * the client's fault. JSON bodies need nothing: Connect already answers `invalid_argument`.
 * Framing errors are left to Connect, which reports them itself.
 */
async function assertDecodable (body: Uint8Array, header: Headers, schema: DescMessage, limit: number): Promise<void> {
  const type = (header.get('content-type') ?? '').split(';', 1)[0].trim().toLowerCase()
  if (type === 'application/proto') {
    const bytes = await decompressed(header.get('content-encoding'), body, limit)
    if (bytes !== undefined) decodes(schema, bytes)
    return
  }
  if (!ENVELOPED.test(type)) return
  const encoding = header.get('connect-content-encoding') ?? header.get('grpc-encoding')
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength)
  for (let at = 0; at + 5 <= body.byteLength;) {
    const flags = body[at]
    const end = at + 5 + view.getUint32(at + 1)
    if (end > body.byteLength) return
    // 0x02: Connect end-of-stream, 0x80: gRPC-web trailers; neither carries a request message
    if ((flags & 0x82) === 0) {
      const payload = body.subarray(at + 5, end)
      const bytes = (flags & 0x01) === 0 ? payload : await decompressed(encoding, payload, limit)
      if (bytes !== undefined) decodes(schema, bytes)
    }
    at = end
  }
}

/** After refusing a body, how long (ms) and how much (bytes) more of it is read and dropped before the connection is cut. */
const LINGER_MS = 1000
const LINGER_BYTES = 16 * 1024 * 1024

/**
 * Refuse the rest of a body without reading it into memory. The answer carries
 * `connection: close`; Node then ends the connection with `socket.destroySoon()`, which would
 * close it at once: the client, still sending, would get EPIPE/ECONNRESET and could lose the
 * answer. Instead the connection is half-closed after the answer and what still arrives is
 * dropped, for at most {@link LINGER_MS} and {@link LINGER_BYTES} ("lingering close").
 */
function refuse (req: IncomingMessage, res: ServerResponse, err: ConnectError): ConnectError {
  if (!res.headersSent) res.setHeader('connection', 'close')
  const socket = req.socket
  let dropped = 0
  let answered = false
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.byteLength
    if (dropped > LINGER_BYTES) socket.destroy()
  })
  req.once('end', () => { if (answered) socket.destroy() })
  req.resume()
  socket.destroySoon = function (this: typeof socket): void {
    answered = true
    this.end()
    if (req.complete) this.once('finish', () => this.destroy())
    const cut = setTimeout(() => this.destroy(), LINGER_MS).unref()
    this.once('close', () => clearTimeout(cut))
  }
  return err
}

/** `req`'s body, read whole but never past `limit` bytes (ResourceExhausted); Aborted when the client leaves first. */
async function readBody (req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (declared > limit) throw refuse(req, res, tooLarge(limit, declared))
  return await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const settle = (err?: ConnectError): void => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
      if (err === undefined) resolve(Buffer.concat(chunks, size))
      else reject(err)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength
      if (size <= limit) chunks.push(chunk)
      else {
        chunks.length = 0
        settle(refuse(req, res, tooLarge(limit)))
      }
    }
    const onEnd = (): void => settle()
    const onError = (err: Error): void => settle(new ConnectError(`request body not received: ${err.message}`, Code.Aborted))
    const onClose = (): void => settle(new ConnectError('client closed the connection before the end of the request body', Code.Aborted))
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose)
  })
}

/**
 * The request body as Connect reads it: whole, at most `limit` bytes, checked to decode. A
 * refusal thrown here becomes an ordinary error answer in the call's protocol.
 */
async function * checkedBody (req: IncomingMessage, res: ServerResponse, header: Headers, schema: DescMessage, limit: number, precheck: () => void): AsyncGenerator<Uint8Array> {
  try {
    precheck()
  } catch (err) {
    throw refuse(req, res, ConnectError.from(err))
  }
  const body = await readBody(req, res, limit)
  await assertDecodable(body, header, schema, limit)
  yield body
}

function checkLimit (name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_LIMIT) throw new RangeError(`${name} must be an integer from 1 to ${MAX_LIMIT}, got ${value}`)
  return value
}

/**
 * A Node.js HTTP/1.1 request listener serving ConnectRPC routes (Connect, gRPC-web and gRPC
 * protocols; gzip and brotli) like `connectNodeAdapter`, with request size limits: a body over
 * `maxRequestBytes` answers `resource_exhausted` without being buffered (declared sizes are
 * refused before reading, chunked bodies cut off at the limit, the connection closed), and a
 * binary message that does not decode answers `invalid_argument` instead of `internal`.
 * Unknown paths answer 404.
 *
 * @throws RangeError when a limit is not an integer from 1 to 2^32−1
 */
export function connectHandler (init: ConnectHandlerInit): (req: IncomingMessage, res: ServerResponse) => void {
  const limit = checkLimit('maxRequestBytes', init.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES)
  const writeMaxBytes = checkLimit('maxResponseBytes', init.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES)
  const router = createConnectRouter({ interceptors: init.interceptors, readMaxBytes: limit, writeMaxBytes, acceptCompression: [compressionGzip, compressionBrotli] })
  init.routes(router)
  const handlers = new Map(router.handlers.map(h => [h.requestPath, h]))
  return (req, res) => {
    const handler = handlers.get((req.url ?? '').split('?', 1)[0])
    if (handler === undefined) {
      res.writeHead(404, { connection: 'close' }).end()
      return
    }
    let uReq
    try {
      uReq = universalRequestFromNodeRequest(req, res, undefined, undefined)
    } catch (err) { // no Host header
      res.writeHead(400, { connection: 'close', 'content-type': 'text/plain' }).end((err as Error).message)
      return
    }
    // the size check is readBody's, which refuses without leaving the rest unread (see refuse);
    // Connect would otherwise check Content-Length itself first
    uReq.header.delete('content-length')
    const header = uReq.header
    const precheck = (): void => init.precheck?.(header, handler.service.typeName, handler.method.name)
    const body = checkedBody(req, res, header, handler.method.input, limit, precheck)
    handler({ ...uReq, body })
      .then(async (uRes) => await universalResponseToNodeResponse(uRes, res))
      .catch((err: unknown) => {
        if (ConnectError.from(err).code !== Code.Aborted) init.onError?.(err, handler.requestPath)
      })
  }
}
