import { request as httpRequest, type IncomingMessage, type ClientRequest, type RequestOptions } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Socket } from 'node:net'
import { AbortedError, ConnectionError, FileReadError, ServerError } from './errors.js'

/** Bodies we read whole (JSON answers, error bodies) are capped; the API's are tiny. */
const MAX_JSON_BYTES = 1024 * 1024

/** Start an http(s) request for `url`. */
export function startRequest (url: URL, options: RequestOptions): ClientRequest {
  return (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options)
}

/**
 * Resolve with the response of `req` once its headers arrive. Errors on the
 * request after that (an origin that answers 413 and closes while we are still
 * sending is normal) are ignored here; the response carries the verdict.
 *
 * `onUploadCut`, for a request with a body: keep the answer of a server that closes while the
 * body is still being sent (see `keepAnswerOnCut`); it is called on the cut, to stop sending.
 * Without an answer the request fails with the write error that cut the upload.
 */
export async function awaitResponse (req: ClientRequest, what: string, signal?: AbortSignal, onUploadCut?: (err: Error) => void): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    let responded = false
    let cut: Error | undefined
    if (onUploadCut != null) keepAnswerOnCut(req, err => { cut = err; onUploadCut(err) })
    req.once('response', res => { responded = true; resolve(res) })
    req.on('error', err => {
      if (responded) return
      if (err instanceof FileReadError) reject(err)
      else if (signal?.aborted === true) reject(new AbortedError(`${what}: cancelled`, { cause: err }))
      else reject(new ConnectionError(`${what}: ${(cut ?? err).message}`, { cause: cut ?? err }))
    })
  })
}

/** Write errors that mean the server closed the connection: it may have answered before. */
const CUT_CODES = new Set(['EPIPE', 'ECONNRESET'])

type WriteCallback = (err?: Error | null) => void

/** The socket's handler of a cut upload: that of the request using it now, if it asked. */
const kOnCut = Symbol('codio.onUploadCut')
type GuardedSocket = Socket & { [kOnCut]?: (err: Error) => void }

/**
 * Keep the answer of a server that refuses `req` early (401, 403, 413) and closes the
 * connection while the body is still being sent. The next write then fails with EPIPE or
 * ECONNRESET, and Node destroys the socket on that error, losing the answer already waiting
 * in the kernel whenever the loop sees the failed write before the readable socket
 * (nodejs/node#12339, #54366). Here such a write error stops the upload instead: the rest of
 * the body is dropped, the socket keeps reading, and the answer arrives as a `response`, as
 * curl reports it; without one the socket ends and the request fails. `onCut` hears of the
 * write error, once.
 */
export function keepAnswerOnCut (req: ClientRequest, onCut: (err: Error) => void): void {
  req.once('socket', (socket: GuardedSocket) => {
    if (!(kOnCut in socket)) guardWrites(socket)
    socket[kOnCut] = onCut
    // an agent may hand the socket to another request afterwards
    req.once('close', () => { if (socket[kOnCut] === onCut) socket[kOnCut] = undefined })
  })
}

/**
 * Wrap `socket`'s write methods: a write error of `CUT_CODES` goes to the socket's `kOnCut`
 * handler, and this write and the later ones succeed without sending; other errors, or any
 * error while no request asked, fail the write as before (Node then destroys the socket).
 */
function guardWrites (socket: GuardedSocket): void {
  const { _write: write, _writev: writev } = socket
  let cut = false
  const guard = (cb: WriteCallback): WriteCallback => err => {
    const onCut = socket[kOnCut]
    if (err == null || onCut == null || !CUT_CODES.has((err as NodeJS.ErrnoException).code ?? '')) { cb(err); return }
    if (!cut) { cut = true; onCut(err) }
    cb()
  }
  socket._write = (chunk, encoding, cb) => { if (cut) cb(); else write.call(socket, chunk, encoding, guard(cb)) }
  if (writev != null) socket._writev = (chunks, cb) => { if (cut) cb(); else writev.call(socket, chunks, guard(cb)) }
  socket[kOnCut] = undefined
}

/** Read a small body whole, as text. */
export async function readText (res: IncomingMessage): Promise<string> {
  const parts: Buffer[] = []
  let size = 0
  for await (const chunk of res) {
    size += (chunk as Buffer).length
    if (size > MAX_JSON_BYTES) { res.destroy(); break }
    parts.push(chunk as Buffer)
  }
  return Buffer.concat(parts).toString('utf8')
}

/**
 * Turn a non-2xx response into a ServerError carrying the API's
 * `{"error": code, "message": reason}`, or the status text if the body is not that JSON.
 */
export async function serverError (res: IncomingMessage, who: string): Promise<ServerError> {
  const status = res.statusCode ?? 0
  let code = `http_${status}`
  let reason = res.statusMessage ?? ''
  try {
    const text = await readText(res)
    try {
      const body = JSON.parse(text) as { error?: unknown, message?: unknown }
      if (typeof body?.error === 'string') code = body.error
      if (typeof body?.message === 'string') reason = body.message
    } catch {
      if (text.trim() !== '') reason = text.trim().slice(0, 500)
    }
  } catch {
    // the body broke off; the status line is still the answer
  }
  return new ServerError(status, code, reason, `${who} answered ${status} ${code}: ${reason}`)
}
