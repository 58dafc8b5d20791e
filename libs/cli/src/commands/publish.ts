import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { BadResponseError, FileNotFoundError, FileReadError, InvalidOptionError } from '../errors.js'
import { contentUrl } from '../endpoints.js'
import { awaitResponse, readText, serverError, startRequest } from '../http.js'
import { guessMediaType } from '../media-types.js'
import { createProgress } from '../progress.js'
import type { Writable } from 'node:stream'

export interface PublishOptions {
  /** Origin base URL, e.g. `http://127.0.0.1:8080` (see `resolveEndpoint`). */
  origin: string
  /** Media type sent as Content-Type. Default: guessed from the extension. */
  type?: string
  /** Chunk size in bytes the origin should split the content into; sent as `?chunkSize=`. */
  chunkSize?: number
  /**
   * Reed-Solomon protection, `"k+m"` (e.g. `"10+4"`) or `"none"`; sent as `?fec=`. Default: the
   * origin's configured default. The origin validates it (400 with the reason).
   */
  fec?: string
  /**
   * Bearer token with the `publish` scope, sent as `Authorization: Bearer` (see
   * `readClientToken` of `@codio/auth` for `--token-file`). An origin beyond loopback needs one.
   */
  token?: string
  /** No progress output. */
  quiet?: boolean
  /** Where progress goes. Default `process.stderr`. */
  stderr?: Writable
  /** Cancels the upload. */
  signal?: AbortSignal
}

/** What the origin answered: `201 {"cid", "size", "chunks"}`. */
export interface PublishResult {
  cid: string
  /** Bytes the origin stored. */
  size: number
  /** Number of chunks the content was split into. */
  chunks: number
  /** Parity chunks the origin stored for it (0 without FEC). */
  parityChunks: number
  /** The FEC code applied, `"k+m"` or `"none"`. */
  fec: string
}

/**
 * Upload `file` to the origin with `PUT {origin}/content`, streamed from disk
 * (constant memory for any size), with an exact Content-Length.
 *
 * @throws FileNotFoundError when `file` is missing or not a regular file
 * @throws FileReadError when `file` cannot be read
 * @throws ServerError on a non-2xx answer, carrying the origin's code and reason (401: no or a
 *   wrong token; 403: a token without the publish scope), also when the origin answered early
 *   and closed the connection while the body was still being sent
 * @throws ConnectionError / AbortedError when no answer arrives
 * @throws BadResponseError when a 2xx body is not `{cid, size, chunks}`
 */
export async function publish (file: string, options: PublishOptions): Promise<PublishResult> {
  let size: number
  try {
    const st = await stat(file)
    if (!st.isFile()) throw new FileNotFoundError(file, `not a regular file: ${file}`)
    size = st.size
  } catch (err: any) {
    if (err instanceof FileNotFoundError) throw err
    if (err?.code === 'ENOENT' || err?.code === 'ENOTDIR') throw new FileNotFoundError(file, `no such file: ${file}`, { cause: err })
    throw new FileReadError(`cannot read ${file}: ${String(err?.message)}`, { cause: err })
  }
  if (options.chunkSize != null && !(Number.isSafeInteger(options.chunkSize) && options.chunkSize > 0)) {
    throw new InvalidOptionError(`chunk size must be a positive integer, got ${options.chunkSize}`)
  }

  const url = contentUrl(options.origin)
  if (options.chunkSize != null) url.searchParams.set('chunkSize', String(options.chunkSize))
  if (options.fec != null) url.searchParams.set('fec', options.fec)

  const progress = createProgress({ label: 'publish', total: size, quiet: options.quiet, stream: options.stderr })
  const body = createReadStream(file)
  const req = startRequest(url, {
    method: 'PUT',
    headers: {
      'Content-Type': options.type ?? guessMediaType(file),
      'Content-Length': String(size),
      Accept: 'application/json',
      ...(options.token == null ? {} : { Authorization: `Bearer ${options.token}` })
    },
    signal: options.signal
  })
  // an origin that refuses early may close while the body is still going out: stop sending
  // and read its answer (the status and reason), not the write error
  const response = awaitResponse(req, `PUT ${url.href}`, options.signal, () => { body.unpipe(req); body.destroy() })

  let sent = 0
  body.on('data', chunk => { sent += chunk.length; progress.update(sent) })
  body.on('error', err => req.destroy(new FileReadError(`cannot read ${file}: ${err.message}`, { cause: err })))
  body.pipe(req)

  try {
    const res = await response
    const status = res.statusCode ?? 0
    if (status < 200 || status > 299) {
      // the origin refused; stop reading the file (it may have stopped reading us)
      body.unpipe(req)
      body.destroy()
      throw await serverError(res, 'origin')
    }
    const text = await readText(res)
    let parsed: Partial<PublishResult>
    try {
      parsed = JSON.parse(text)
    } catch (err) {
      throw new BadResponseError(`origin answered ${status} with a body that is not JSON`, { cause: err })
    }
    if (typeof parsed?.cid !== 'string' || parsed.cid === '') {
      throw new BadResponseError(`origin answered ${status} without a "cid"`)
    }
    progress.update(sent)
    progress.done()
    return { cid: parsed.cid, size: Number(parsed.size ?? size), chunks: Number(parsed.chunks ?? 0), parityChunks: Number(parsed.parityChunks ?? 0), fec: String(parsed.fec ?? 'none') }
  } catch (err) {
    progress.fail()
    body.destroy()
    req.destroy()
    throw err
  }
}
