import { request as httpRequest, type IncomingMessage, type ClientRequest, type RequestOptions } from 'node:http'
import { request as httpsRequest } from 'node:https'
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
 */
export async function awaitResponse (req: ClientRequest, what: string, signal?: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    let responded = false
    req.once('response', res => { responded = true; resolve(res) })
    req.on('error', err => {
      if (responded) return
      if (err instanceof FileReadError) reject(err)
      else if (signal?.aborted === true) reject(new AbortedError(`${what}: cancelled`, { cause: err }))
      else reject(new ConnectionError(`${what}: ${err.message}`, { cause: err }))
    })
  })
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
