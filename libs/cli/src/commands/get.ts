import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { Transform, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AbortedError, ConnectionError, InvalidOptionError, TruncatedBodyError } from '../errors.js'
import { contentUrl } from '../endpoints.js'
import { awaitResponse, serverError, startRequest } from '../http.js'
import { createProgress } from '../progress.js'

export interface GetOptions {
  /** Edge base URL, e.g. `http://127.0.0.1:8081` (see `resolveEndpoint`). */
  edge: string
  /**
   * File to write. It is written as `<output>.partial` and renamed into place
   * only when every byte arrived, so `output` is either complete or untouched.
   * Absent or `-`: bytes go to `stdout`.
   */
  output?: string
  /** Sink when there is no `output`. Default `process.stdout`; it is not ended. */
  stdout?: Writable
  /** No progress output. */
  quiet?: boolean
  /** Where progress goes. Default `process.stderr`. */
  stderr?: Writable
  /** Cancels the download (the partial file is removed). */
  signal?: AbortSignal
}

export interface GetResult {
  cid: string
  /** Bytes received. */
  bytes: number
  /** The file written, if any. */
  path?: string
}

/**
 * Download content `cid` from an edge with `GET {edge}/content/<cid>`,
 * streamed, checking the byte count against Content-Length.
 *
 * @throws ServerError on a non-2xx answer, carrying the edge's code and reason
 * @throws TruncatedBodyError when the body ends short of Content-Length (no file is left)
 * @throws ConnectionError / AbortedError when the transfer breaks for another reason
 */
export async function get (cid: string, options: GetOptions): Promise<GetResult> {
  if (cid.trim() === '') throw new InvalidOptionError('a content ID is required')
  const url = contentUrl(options.edge, cid)
  const req = startRequest(url, { method: 'GET', signal: options.signal })
  req.end()
  const res = await awaitResponse(req, `GET ${url.href}`, options.signal)
  const status = res.statusCode ?? 0
  if (status < 200 || status > 299) throw await serverError(res, 'edge')

  const header = res.headers['content-length']
  const expected = header != null && /^\d+$/.test(header) ? Number(header) : undefined
  const progress = createProgress({ label: 'get', total: expected, quiet: options.quiet, stream: options.stderr })
  let received = 0
  const counter = new Transform({
    transform (chunk: Buffer, _enc, cb) {
      received += chunk.length
      progress.update(received)
      cb(null, chunk)
    }
  })

  const toFile = options.output != null && options.output !== '-'
  const partial = toFile ? `${options.output}.partial` : undefined
  try {
    try {
      if (partial != null) {
        await pipeline(res, counter, createWriteStream(partial), { signal: options.signal })
      } else {
        await pipeline(res, counter, options.stdout ?? process.stdout, { end: false, signal: options.signal })
      }
    } catch (err: any) {
      if (options.signal?.aborted === true) throw new AbortedError('get: cancelled', { cause: err })
      // a body that breaks off is the edge closing early; the write side's errors are ours
      if (expected != null && received < expected && !res.complete) throw new TruncatedBodyError(expected, received, { cause: err })
      if (!res.complete) throw new ConnectionError(`GET ${url.href}: ${String(err?.message ?? err)}`, { cause: err })
      throw err
    }
    if (expected != null && received !== expected) throw new TruncatedBodyError(expected, received)
    if (partial != null) await rename(partial, options.output as string)
  } catch (err) {
    progress.fail()
    if (partial != null) await rm(partial, { force: true })
    res.destroy()
    throw err
  }
  progress.done()
  return { cid, bytes: received, path: toFile ? options.output : undefined }
}
